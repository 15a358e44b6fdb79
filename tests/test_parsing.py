"""The reply parser on hand-written fixtures, one per style, and its input checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from govnlp import ParseError, parse_reply
from govnlp.documents import ReplyDocument
from govnlp.parsing.figures import find_figures
from govnlp.parsing.header import find_handling_class, find_session, parse_date
from govnlp.parsing.normalise import clean_text, matching_form
from govnlp.parsing.structure import cn_to_int, problem_text
from govnlp.search.records import document_records


def _doc(fixtures_dir: Path, name: str) -> ReplyDocument:
    return parse_reply(fixtures_dir / "replies" / name)


def test_suggestion_reply(fixtures_dir: Path) -> None:
    d = _doc(fixtures_dir, "suggestion_reply.txt")
    assert d.kind == "建议答复"
    assert d.assembly == "县人大" and d.session == "十八届三次"
    assert d.proposal_number == "0038"
    assert d.proposal_title == "关于加快农村公路提档升级的建议"
    assert d.addressee == "王建国、李秀英代表"
    assert d.document_number == "青交建复〔2023〕5号"
    assert d.handling_class == "A"
    assert d.date == "2023-06-18"  # Chinese numerals
    assert d.replying_agency == "青山县交通运输局"
    assert d.contact is not None and d.contact.name == "张明" and d.contact.phone == "0571-85012345"
    assert [m.ordinal for m in d.measures] == ["1.", "2.", "3."] or [m.ordinal for m in d.measures] == [
        "1",
        "2",
        "3",
    ]
    assert d.measures[0].title == "加快推进项目建设"
    assert {(f.value, f.unit) for f in d.measures[0].figures} == {(86.5, "公里"), (3200.0, "万元")}
    roles = [p.role for p in d.paragraphs]
    assert roles[-1] == "closing" and "contact" in roles


def test_message_reply(fixtures_dir: Path) -> None:
    d = _doc(fixtures_dir, "message_reply.txt")
    assert d.kind == "留言答复"
    assert d.addressee == "网友“UU0081234”"
    assert d.date == "2018-11-05"
    assert [s.number for s in d.sections] == ["一", "二"]
    assert [p.text for p in d.problems] == ["小区停车难", "夜间施工噪音"]
    roles = [p.role for p in d.paragraphs]
    assert roles[0] == "opening" and roles[-2:] == ["closing", "closing"]
    body = [p.text for p in d.paragraphs if p.role == "body"]
    assert body and all("您好" not in t and "感谢" not in t for t in body)


def test_web_page_debris(fixtures_dir: Path) -> None:
    d = _doc(fixtures_dir, "web_page.txt")
    assert "当前位置" not in d.text and "打印本页" not in d.text and "ICP" not in d.text
    assert "浏览次数" not in d.text and "字体" not in d.text
    assert d.meta["page"]["索引号"] == "11330100MB0000000X/2022-00123"
    assert d.document_number == "临建提复〔2022〕17号"  # [] brackets normalised
    assert d.kind == "提案答复" and d.proposal_number == "2022087"
    assert d.addressee == "民盟临江市委会"
    assert d.lead_agency == "临江市住房和城乡建设局"  # 由我局主办
    assert d.co_agencies == ("市财政局", "市市场监管局")
    assert d.date == "2022-07-28"
    assert d.contact is not None and d.contact.phone == "13812345678"
    assert [m.ordinal for m in d.measures] == ["（一）", "（二）"]


def test_traditional_parses_like_simplified(fixtures_dir: Path) -> None:
    d = _doc(fixtures_dir, "traditional.txt")
    assert (
        d.title == "岭南市文化广电旅游体育局关于对市政协七届四次会议第56号提案的答复"
    )  # pinyin residue gone
    assert d.kind == "提案答复" and d.assembly == "市政协" and d.session == "七届四次"
    assert d.handling_class == "C"
    assert d.document_number == "岭文旅提复〔2019〕12号"
    assert d.addressee == "黄志强委员"
    assert d.date == "2019-08-15"
    # the text keeps the original characters
    assert "歷史" in d.text and "(guān)" not in d.text
    assert [m.ordinal for m in d.measures] == ["一是", "二是"]
    assert d.measures[0].section == "一"
    assert "歷史建築普查156處" in d.measures[0].text
    assert any(f.value == 156 for f in d.figures)


def test_numbering_styles(fixtures_dir: Path) -> None:
    d = _doc(fixtures_dir, "numbering_styles.txt")
    assert d.proposal_number == "DH0271" and d.handling_class == "B"
    assert [(m.section, m.ordinal) for m in d.measures] == [
        ("一", "（1）"),
        ("一", "（2）"),
        ("三", "第一"),
        ("三", "第二"),
    ]
    # ① ② under 二、存在的问题 are problems, not measures
    assert [(p.section, p.number, p.text) for p in d.problems] == [
        ("二", "①", "专业护理人员不足"),
        ("二", "②", "运营资金压力较大"),
    ]


def test_truncated_excerpt(fixtures_dir: Path) -> None:
    d = _doc(fixtures_dir, "truncated.txt")
    assert d.kind == "建议答复" and d.proposal_number == "112"
    assert d.date is None and d.contact is None
    assert [m.title for m in d.measures] == ["健全课后服务机制", "丰富课后服务内容"]
    assert d.measures[1].text.endswith("引入第三方机构")


def test_sections_that_are_measures() -> None:
    d = parse_reply(
        "某局关于第8号提案的答复\n王某委员：\n您的提案收悉，现答复如下：\n"
        "一、放开参保户籍限制。取消户籍限制，今年新增参保人员2.3万人。\n"
        "二、实施社保补贴政策。按实际缴费额的2/3给予补贴，发放资金4860万元。\n"
        "三、下一步工作打算\n我局将继续推进。\n感谢您的关心！"
    )
    assert d.title == "某局关于第8号提案的答复"
    assert [(m.section, m.ordinal, m.title) for m in d.measures] == [
        ("一", "一、", "放开参保户籍限制"),
        ("二", "二、", "实施社保补贴政策"),
    ]
    assert any(f.value == 4860 and f.unit == "万元" for f in d.measures[1].figures)


def test_unnumbered_problems() -> None:
    d = parse_reply(
        "网友你好：\n针对你所反映的情况，区教育局高度重视，现答复如下：\n"
        "关于押金：学校与酒店开展合作办学，新生报名时只交1500元押金。\n"
        "关于“实习时间过长”的问题\n实习实行双向选择，实习时间为6-12个月。\n感谢您的关注！"
    )
    assert [p.text for p in d.problems] == ["押金", "实习时间过长"]
    assert [p.problem for p in d.paragraphs if p.role == "body"] == ["押金", "实习时间过长"]
    assert d.kind == "留言答复"


def test_co_agency_opinion() -> None:
    d = parse_reply(
        "某区人民政府对市十五届人大一次会议第0124号代表建议的会办意见\n市交通委：\n"
        "王某代表提出的关于设立公交候车亭的建议收悉，现将会办意见函告如下：\n我区原则同意设置候车亭。\n"
        "某区人民政府\n2018年5月17日"
    )
    assert d.kind == "其他"
    assert d.lead_agency == "市交通委"
    assert d.replying_agency == "某区人民政府"
    assert d.co_agencies == ("某区人民政府",)


def test_class_written_after_document_number(fixtures_dir: Path) -> None:
    d = _doc(fixtures_dir, "classes.txt")
    assert d.handling_class == "A"
    assert d.document_number == "钱农复〔2020〕11号"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("类别：A类", "A"),
        ("办理结果：B", "B"),
        ("办复类别:C类", "C"),
        ("湘教提复字〔2019〕35号B类", "B"),
        ("（A类）", "A"),
        ("办理结果：解决或采纳", "A"),
        ("Ａ类", "A"),
        ("没有类别", None),
    ],
)
def test_handling_class_variants(text: str, expected: str | None) -> None:
    assert find_handling_class([matching_form(text)]) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024年7月11日", "2024-07-11"),
        ("二〇二四年七月十一日", "2024-07-11"),
        ("二○二三年十二月三十日", "2023-12-30"),
        ("2021-04-14", "2021-04-14"),
        ("2022.06.01", "2022-06-01"),
        ("2023年2月30日", None),
    ],
)
def test_dates(text: str, expected: str | None) -> None:
    assert parse_date(matching_form(text)) == expected


@pytest.mark.parametrize(
    ("text", "doc_number"),
    [
        ("丽综执复〔2024〕22号", "丽综执复〔2024〕22号"),
        ("丽综执复[2024]22号", "丽综执复〔2024〕22号"),
        ("丽综执复【2024】22号", "丽综执复〔2024〕22号"),
        ("丽综执复﹝2024﹞22号", "丽综执复〔2024〕22号"),
    ],
)
def test_document_number_brackets(text: str, doc_number: str) -> None:
    d = parse_reply(
        f"某局关于第5号提案的答复\n{text}\n王某委员：\n您的提案收悉，现答复如下：\n一是加强管理。"
    )
    assert d.document_number == doc_number


def test_small_helpers() -> None:
    assert cn_to_int("十二") == 12 and cn_to_int("③") == 3 and cn_to_int("x") is None
    assert problem_text("针对“企业信用监管缺少柔性化”的问题") == "企业信用监管缺少柔性化"
    assert problem_text("关于建议中反映的问题") is None
    assert find_session(matching_form("县第十六届人民代表大会第四次会议")) == "第十六届第四次"
    figs = find_figures(
        "2024年7月11日，〔2024〕22号，第14号，减少55.2%", "2024年7月11日，〔2024〕22号，第14号，减少55.2%"
    )
    assert [(f.value, f.unit) for _, f in figs] == [(55.2, "%")]
    c = clean_text("内容_x000D_第二行\u00a0有NBSP\n关(guān)于")
    assert c.lines == ["内容", "第二行 有NBSP", "关于"]
    assert clean_text("让企业生产更安全。135市经信局对企业").lines == ["让企业生产更安全。市经信局对企业"]
    assert clean_text("今年以来。2023年全市").lines == ["今年以来。2023年全市"]


def test_html_docx_and_pdf(tmp_path: Path, fixtures_dir: Path) -> None:
    text = (fixtures_dir / "replies" / "suggestion_reply.txt").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # HTML
    html = "<html><head><script>var x=1;</script></head><body><div class='nav'>当前位置：首页 &gt; 建议</div>"
    html += "".join(f"<p>{ln}</p>" for ln in lines) + "<div>打印本页 关闭窗口</div></body></html>"
    (tmp_path / "r.html").write_text(html, encoding="utf-8")
    # DOCX
    import docx

    document = docx.Document()
    for ln in lines:
        document.add_paragraph(ln)
    document.save(str(tmp_path / "r.docx"))
    # PDF (a minimal PDF with a ToUnicode map, written by hand)
    _write_pdf(tmp_path / "r.pdf", lines)
    expected = parse_reply(text)
    for name in ("r.html", "r.docx", "r.pdf"):
        d = parse_reply(tmp_path / name)
        assert d.title == expected.title, name
        assert d.document_number == expected.document_number, name
        assert d.date == expected.date, name
        assert [m.title for m in d.measures] == [m.title for m in expected.measures], name
        assert "var x" not in d.text and "打印本页" not in d.text
    assert parse_reply(str(tmp_path / "r.docx")).source == str(tmp_path / "r.docx")


def _write_pdf(path: Path, lines: list[str]) -> None:
    chars = sorted({c for ln in lines for c in ln})
    cid = {c: i + 1 for i, c in enumerate(chars)}
    content = ["BT /F1 10 Tf 14 TL 20 800 Td"]
    for ln in lines:
        # wrap long lines like a PDF would, to exercise the reflow
        for k in range(0, len(ln), 30):
            content.append("<" + "".join(f"{cid[c]:04X}" for c in ln[k : k + 30]) + "> Tj T*")
    content.append("ET")
    stream = "\n".join(content).encode()
    cmap_lines = [f"<{cid[c]:04X}> <{ord(c):04X}>" for c in chars]
    cmap = (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /U def "
        "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
    )
    for k in range(0, len(cmap_lines), 100):
        chunk = cmap_lines[k : k + 100]
        cmap += f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar\n"
    cmap += "endcmap CMapName currentdict /CMap defineresource pop end end"
    cmap_b = cmap.encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /Song /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Song /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 >>",
        b"<< /Length %d >>\nstream\n" % len(cmap_b) + cmap_b + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer << /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path.write_bytes(bytes(out))


@pytest.mark.parametrize("bad", ["", "   \n\t ", b"\xe4\xbd\xa0", 42, None, ["a"], "abc\x00def"])
def test_bad_input_raises_parse_error(bad: object) -> None:
    with pytest.raises(ParseError):
        parse_reply(bad)  # type: ignore[arg-type]


def test_file_errors(tmp_path: Path) -> None:
    p = tmp_path / "reply.rtf"
    p.write_text("x", encoding="utf-8")
    with pytest.raises(ParseError, match=r"\.txt.*\.pdf"):
        parse_reply(p)
    with pytest.raises(ParseError, match="not found"):
        parse_reply(tmp_path / "missing.txt")
    b = tmp_path / "bin.txt"
    b.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(ParseError, match="binary"):
        parse_reply(b)
    with pytest.raises(ParseError, match="empty"):
        parse_reply(_write(tmp_path / "empty.txt", "  \n"))
    # a str that looks like a path and does not exist is an error, unless the caller says it is text
    with pytest.raises(ParseError, match="as_text=True"):
        parse_reply("missing.txt")
    assert parse_reply("missing.txt", as_text=True).source is None


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_round_trip_every_fixture(fixtures_dir: Path) -> None:
    import json

    for f in [*sorted((fixtures_dir / "replies").glob("*.txt")), fixtures_dir / "seed_reply.txt"]:
        d = parse_reply(f)
        data = json.loads(json.dumps(d.to_dict(), ensure_ascii=False))
        assert ReplyDocument.from_dict(data) == d
        assert set(data) >= {
            "title",
            "kind",
            "sections",
            "problems",
            "measures",
            "figures",
            "paragraphs",
            "contact",
        }


def test_split_title_self_lead_and_problem_section(fixtures_dir: Path) -> None:
    d = _doc(fixtures_dir, "split_title_problems.txt")
    # an agency-only line directly above 关于…的答复 belongs to the title
    assert d.title == "松原市人力资源和社会保障局关于市政协九届二次会议第HZ0158号提案的答复"
    assert d.replying_agency == "松原市人力资源和社会保障局"
    # 该提案由我局主办: 我局 is the replying agency; 和 inside a name does not split it
    assert d.lead_agency == "松原市人力资源和社会保障局"
    assert d.co_agencies == ("市住房和城乡建设局", "市卫生健康委员会", "市总工会")
    # a contact line wrapped in （…） keeps no closing bracket
    assert d.contact is not None and d.contact.department == "市人社局劳动关系处"
    assert d.contact.name == "周立群" and d.contact.phone == "0438-6123456"
    # 一是… under 二、当前存在的困难和问题 are problems, not measures
    assert [(p.section, p.number, p.text) for p in d.problems] == [
        ("二", "一", "平台用工关系认定难，部分劳动者与平台之间权利义务不清"),
        ("二", "二", "参保意愿不高，青年劳动者对社会保险认识不足"),
        ("二", "三", "维权渠道不畅"),
    ]
    assert [(m.section, m.ordinal, m.problem) for m in d.measures] == [
        ("三", "一是", None),
        ("三", "二是", None),
    ]
    assert d.measures[0].title == "开展专项执法检查，年内覆盖主要平台企业8家"
    # the paragraphs holding those items are problem paragraphs, so the index does not repeat them
    holders = [p for p in d.paragraphs if p.section == "二" and p.problem is not None]
    assert holders and all(p.role == "problem" for p in holders)
    assert not any(r["text"] == p.text for p in holders for r in document_records(d))


@pytest.mark.parametrize(
    ("head", "lead", "co"),
    [
        (
            "本提案由县农业农村局主办，县住房和城乡建设局、县生态环境分局协办。",
            "县农业农村局",
            ("县住房和城乡建设局", "县生态环境分局"),
        ),
        (
            "此件由区教育局主办，区财政局和区人力资源和社会保障局会办。",
            "区教育局",
            ("区财政局", "区人力资源和社会保障局"),
        ),
        (
            "您的建议已交由市交通运输局主办，市公安局交通警察支队及市城管局协办。",
            "市交通运输局",
            ("市公安局交通警察支队", "市城管局"),
        ),
    ],
)
def test_agencies_handled_by(head: str, lead: str, co: tuple[str, ...]) -> None:
    from govnlp.parsing.header import find_agencies

    assert find_agencies(head) == (lead, co)


def test_self_lead_without_signer_kept_as_written() -> None:
    d = parse_reply(
        "张某委员：\n您的提案收悉。该提案由我局主办，市财政局会办。现答复如下：\n一是加快建设。二是加强监管。"
    )
    assert d.replying_agency is None and d.lead_agency == "我局" and d.co_agencies == ("市财政局",)


@pytest.mark.parametrize(
    ("text", "agency"),
    [
        # a 主办单位 line under the reply
        (
            "关于对区政协二届三次会议第045号提案的答复\n刘某委员：\n您的提案收悉，现答复如下：\n"
            "我委将加快推进公共自行车更新。\n感谢您对建设管理工作的关心和支持。\n主办单位：东湖区建设和管理委员会",
            "东湖区建设和管理委员会",
        ),
        # the agency in brackets after the title
        (
            "对县十五届人大二次会议第7号建议的答复（水利局）\n赵某代表：\n你提出的建议收悉。现答复如下：\n"
            "该段河道已纳入中小河流治理规划。\n感谢你对水利工作的关心和支持。",
            "水利局",
        ),
        # a year before the agency in the title
        (
            "2021年县卫健局对县人大第九届二次会议第31号建议答复的函\n钱某代表：\n您的建议收悉，现答复如下：\n"
            "我局将增加村卫生室药品配备。\n感谢您的关心。",
            "县卫健局",
        ),
        # full-width spaces lost to a wrong encoding in front of the signature
        (
            "孙某代表：\n您提出的建议已收悉，现答复如下：\n我局已完成道路改造方案。\n感谢您的关心和支持。\n"
            "??????????河西区住房和城乡建设局\n????????2023年4月27日",
            "河西区住房和城乡建设局",
        ),
    ],
)
def test_replying_agency_patterns(text: str, agency: str) -> None:
    assert parse_reply(text).replying_agency == agency


def test_page_table_publisher_is_the_source_not_the_replier() -> None:
    """A page's key | value metadata table without colons: 发布机构 is page metadata (issue 11)."""
    doc = parse_reply(
        "索引号 | 12345678-/2021-0001 | 发布机构 | 南山县文化和旅游局 | 公开目录 | 建议办理结果\n"
        "周某代表：\n您提出的建议收悉，现答复如下：\n我局将争取项目资金改善乡村旅游道路。"
    )
    assert doc.source_agency == "南山县文化和旅游局"
    assert doc.replying_agency is None


def test_site_footer_is_not_the_replying_agency() -> None:
    d = parse_reply(
        "吴某代表：\n您提出的建议收悉，现答复如下：\n我们将优化公交线路。\n"
        "主办单位：某市人民政府 版权所有 承办单位：某市人民政府办公室"
    )
    assert d.replying_agency is None
