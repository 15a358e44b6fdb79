import sys

from govnlp.cli import main

sys.exit(main())
