"""Records for the scale tests: short reply paragraphs recombined from clauses written for these tests."""

from __future__ import annotations

import random
from typing import Any

AGENCIES = ["市住建局", "市交通运输局", "市教育局", "市生态环境局", "市卫生健康委", "市城管执法局"]
KINDS = ["提案答复", "建议答复", "留言回复"]
TOPICS = [
    "老旧小区改造",
    "既有住宅加装电梯",
    "小区停车难",
    "学校周边交通安全",
    "河道黑臭水体治理",
    "生活垃圾分类",
    "物业服务监管",
    "公交线路优化",
    "社区养老服务",
    "农贸市场提质",
    "夜间施工噪音",
    "背街小巷路灯",
]
ACTIONS = [
    "已纳入年度重点工作计划",
    "将会同相关部门开展专项检查",
    "已安排专项资金予以支持",
    "正在组织编制实施方案",
    "将加强日常巡查和督促整改",
    "已责成属地街道限期落实",
    "下一步将完善长效管理机制",
    "已召开协调会明确责任分工",
]
DETAILS = [
    "涉及{n}个小区共{m}户居民",
    "计划于{y}年底前完成",
    "累计投入资金{m}万元",
    "新增泊位{n}个",
    "覆盖{n}所中小学校",
    "整治点位{n}处",
    "设立投诉受理点{n}个",
]
OPENINGS = ["您好！", "尊敬的代表：", "", "网友您好，您的留言已收悉。"]
CLOSINGS = ["感谢您对我们工作的支持！", "", "欢迎继续监督。"]


def make_records(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` dict records with distinct texts and the metadata govnlp filters use."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        topic, other = rng.sample(TOPICS, 2)
        detail = rng.choice(DETAILS).format(
            n=rng.randint(2, 90), m=rng.randint(100, 9000), y=rng.randint(2019, 2026)
        )
        text = (
            f"{rng.choice(OPENINGS)}关于{topic}的问题，{rng.choice(ACTIONS)}，{detail}；"
            f"同时统筹推进{other}，{rng.choice(ACTIONS)}。{rng.choice(CLOSINGS)}"
        )
        year = 2016 + i % 9
        out.append(
            {
                "id": f"rec-{i:05d}",
                "text": text,
                "year": year,
                "date": f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "kind": KINDS[i % 3],
                "lead_agency": AGENCIES[rng.randrange(len(AGENCIES))],
                "co_agencies": rng.sample(AGENCIES, rng.randint(0, 2)),
            }
        )
    return out
