"""Header fields on the page styles of real reply pages: signing date vs page dates, proposal titles in
their many wrappers, who replies vs who published the page, and traditional pages with pinyin residue.

Every text here is written for these tests (the names, numbers and agencies are invented).
"""

from __future__ import annotations

import pytest

from govnlp import parse_reply
from govnlp.documents import ReplyDocument

# ---------------------------------------------------------------- date: the 落款 only

PAGE_DATES_ONLY = """索引号：11330100/2023-00123
发布机构：江州市水利局
发布日期：2023-08-15
江州市水利局关于市十五届人大二次会议第56号建议的答复
李明代表：
您提出的关于加强山塘水库安全管理的建议收悉，现答复如下：
一是开展隐患排查。今年以来共排查山塘水库42座，整改隐患17处。
二是落实管护责任。每座水库明确行政、技术和巡查三个责任人。
感谢您对水利工作的关心和支持。
"""

FOOTER_UPDATE_TIME = """关于对区政协三届四次会议第18号提案的答复
民盟区委会：
你们提出的《关于完善社区养老服务体系的意见》收悉。经研究，现答复如下：
近年来，我区新建社区养老服务站12个，为2300余名老人提供助餐服务。下一步将继续扩大覆盖面。
特此答复。
更新时间：2022-11-03 09:12
浏览次数：356
"""

CHINESE_NUMERAL_DATE = """关于市政协十届五次会议第102号提案的答复
张华委员：
您提出的关于“加快城区停车设施建设”的提案收悉。现答复如下：
今年我局在老城区新增公共停车泊位800个，并将两处闲置地块改建为临时停车场。
此复。
江州市建设局
二00七年七月十七日
"""

DATE_AFTER_CC = """江州市交通运输局关于市十六届人大三次会议第7号建议的答复
孙丽代表：
您提出的《关于优化农村客运班线的建议》收悉，现答复如下：
一是调整班线走向。新开通镇村公交线路6条。
二是延长运营时间。末班车延至晚上七点。
感谢您对交通运输工作的支持。
江州市交通运输局
抄送：市人大常委会代表工作委员会，市政府办公室。
二〇一九年十二月三十一日
"""

PUBLISH_TIME_IN_HEADER = """江州县住房和城乡建设局对县十七届人大二次会议第31号建议的答复
2021-07-02 09:23:00 来源：江州县人民政府
周平代表：
您提出的关于加快老旧小区改造的建议收悉，现答复如下：
今年全县改造老旧小区9个，惠及居民1200户。
江州县住房和城乡建设局
2021年6月18日
"""


@pytest.mark.parametrize(
    ("text", "date", "published"),
    [
        (PAGE_DATES_ONLY, None, "2023-08-15"),
        (FOOTER_UPDATE_TIME, None, "2022-11-03"),
        (CHINESE_NUMERAL_DATE, "2007-07-17", None),
        (DATE_AFTER_CC, "2019-12-31", None),
        (PUBLISH_TIME_IN_HEADER, "2021-06-18", "2021-07-02"),
    ],
)
def test_signing_date_never_a_page_date(text: str, date: str | None, published: str | None) -> None:
    doc = parse_reply(text)
    assert doc.date == date
    assert doc.published == published


@pytest.mark.parametrize(
    ("closing", "expected"),
    [
        (["此复。", "江州市建设局", "二〇一九年十二月三十一日"], "2019-12-31"),
        (["江州市建设局二〇一九年十二月三十一日"], "2019-12-31"),
        (["感谢您的关心。", "2017-7-21", "承办负责人：王某"], "2017-07-21"),
        (["特此答复！如有疑问请拨打12345。2018-08-10"], "2018-08-10"),
        (["交办时间：2021年3月29日"], None),
        (["发布时间：2021-03-29 10:15"], None),
        (["2021-03-29 10:15:00 来源：本站"], None),
        (["答复日期：2020年5月6日"], "2020-05-06"),
        (
            ["江州市水利局", "2020年5月6日", "抄送：市政府办公室。", "江州市水利局办公室 2020年5月8日印发"],
            "2020-05-06",
        ),
    ],
)
def test_signing_date_lines(closing: list[str], expected: str | None) -> None:
    from govnlp.parsing.header import find_date

    assert find_date(closing, {}, []) == expected


def test_page_date_fields_never_become_the_date() -> None:
    from govnlp.parsing.header import find_date, find_published

    meta = {"发布日期": "2022-01-05", "成文日期": "2021-12-30", "生成日期": "2022-01-05"}
    assert find_date([], meta, ["2022年1月5日 星期三"]) is None
    assert find_published([], meta) == "2022-01-05"
    assert find_published([], {"成文日期": "2021-12-30"}) == "2021-12-30"
    assert find_published(["更新时间：2023-04-01 08:00"], {}) == "2023-04-01"


def test_written_date_field_is_kept_apart() -> None:
    """成文日期 in a gov.cn metadata table is page metadata: never ``date``; ``published`` falls back to it."""
    text = """索引号：000014349/2023-306291
成文日期：2023-12-27
江州市医疗保障局关于市政协十四届二次会议第9号提案的答复
刘洋委员：
您提出的《关于提高门诊慢特病报销比例的提案》收悉，现答复如下：
今年起，全市门诊慢特病报销比例提高5个百分点。
"""
    doc = parse_reply(text)
    assert doc.date is None
    assert doc.published == "2023-12-27"
    assert doc.meta["page"]["成文日期"] == "2023-12-27"


# ---------------------------------------------------------------- proposal title


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "王刚代表：\n您提出的关于加强农村生活污水治理的建议收悉，现答复如下：\n我局已完成12个村的管网建设。",
            "关于加强农村生活污水治理的建议",
        ),
        (
            "九三学社市委会：\n你们提出的《关于完善社区养老服务体系的意见》收悉。现答复如下：\n我市已建成站点12个。",
            "关于完善社区养老服务体系的意见",
        ),
        (
            "张华委员：\n您提出的关于“加快城区停车设施建设”的提案收悉。现答复如下：\n今年新增泊位800个。",
            "加快城区停车设施建设",
        ),
        (
            "对市十六届人大一次会议第23号《关于改善城乡结合部道路照明的建议》的答复\n王强代表：\n"
            "现将办理情况答复如下：\n今年新装路灯300盏。",
            "关于改善城乡结合部道路照明的建议",
        ),
        (
            "对市十六届人大一次会议第23号《关于改善\n城乡结合部道路照明的建议》的答复\n王强代表：\n"
            "现将办理情况答复如下：\n今年新装路灯300盏。",
            "关于改善城乡结合部道路照明的建议",
        ),
        (
            "赵敏代表：\n您提出的《关于进一步规范校外培训\n机构管理的建议》收悉，现答复如下：\n我局已开展专项检查。",
            "关于进一步规范校外培训机构管理的建议",
        ),
        (
            "关于《进一步规范校外培训机构管理》的答复\n赵敏代表：\n现将办理情况答复如下：\n我局已开展专项检查。",
            "进一步规范校外培训机构管理",
        ),
        (
            "江州市教育局关于“加强中小学心理健康教育”的提案的答复\n陈静委员：\n现答复如下：\n全市中小学已配备专职心理教师86名。",
            "加强中小学心理健康教育",
        ),
        (
            "标题：关于对县政协十届二次会议第9号提案的答复\n尊敬的李华委员：\n"
            "您提出的关于古村落保护、修缮的办法和建议的提案收悉，现答复如下：\n我县已对12处古村落建档。",
            "关于古村落保护、修缮的办法和建议的提案",
        ),
        (
            "周强代表：\n你提出的“关于加固清水河河堤，提高防洪能力”的建议收悉。现答复如下：\n该段河道已纳入治理规划。",
            "关于加固清水河河堤，提高防洪能力",
        ),
        (
            "吴芳代表：\n您提出《关于加快城区污水管网改造的建议（第24号建议）收悉，现答复如下：\n今年改造管网8公里。",
            "关于加快城区污水管网改造的建议",
        ),
        (
            "郑伟代表：\n郑伟代表提出的关于解决老旧小区电动车充电难的建议（第2023015号）已收悉，现答复如下：\n"
            "今年新增充电位500个。",
            "关于解决老旧小区电动车充电难的建议",
        ),
        (
            "何丽代表：\n您提出关于拓宽沙坪村道路的建议收悉，现答复如下：\n我局已将该路段纳入计划。",
            "关于拓宽沙坪村道路的建议",
        ),
    ],
    ids=lambda v: v[:12] if isinstance(v, str) else None,
)
def test_proposal_title_forms(text: str, expected: str) -> None:
    assert parse_reply(text).proposal_title == expected


# ---------------------------------------------------------------- replying agency vs page source


def test_title_issuer_before_page_source() -> None:
    text = """来源：江州市人民政府办公室
江州市教育局关于市政协第45号提案的答复
陈静委员：
您提出的《关于加强中小学心理健康教育的提案》收悉，现答复如下：
全市中小学已配备专职心理教师86名。
"""
    doc = parse_reply(text)
    assert doc.replying_agency == "江州市教育局"
    assert doc.source_agency == "江州市人民政府办公室"


def test_handling_unit_field() -> None:
    text = """关于县十七届人大二次会议第12号建议的答复
承办单位：江州县农业农村局
赵敏代表：
您提出的关于扶持家庭农场发展的建议收悉，现答复如下：
今年全县新认定家庭农场35家，发放补贴120万元。
"""
    assert parse_reply(text).replying_agency == "江州县农业农村局"


def test_handling_unit_on_the_line_under_its_name() -> None:
    text = """关于规范学校周边摊贩的建议
建议号
江州区十一届人大三次会议第23号
承办单位
江州区市场监督管理局
答复内容
王丽代表：
您提出的关于规范学校周边摊贩的建议已收悉，现答复如下：
今年共劝离流动摊贩120余次。
"""
    assert parse_reply(text).replying_agency == "江州区市场监督管理局"


def test_page_agency_under_its_field_name() -> None:
    text = """对区政协二届一次会议第61号提案的答复
公开主体：
江州市江北区经济委员会
刘涛委员：
您提出的关于加快农村寄递物流体系建设的提案收悉，现答复如下：
今年新建村级寄递服务站40个。
"""
    doc = parse_reply(text)
    assert doc.source_agency == "江州市江北区经济委员会"
    assert doc.replying_agency is None


def test_metadata_row_is_not_the_title() -> None:
    text = """索引号 | 11530523/2021-0702001 | 发布机构 | 江州县文化和旅游局
公开目录 | 人大建议办理结果 | 发布日期 | 2021-07-02
杨勇代表：
您提出的关于加大乡村旅游开发的建议收悉，现答复如下：
我局已编制乡村旅游规划。
"""
    doc = parse_reply(text)
    assert doc.title is None
    assert doc.published == "2021-07-02"
    assert doc.source_agency == "江州县文化和旅游局"
    assert "索引号" not in doc.text


def test_page_publisher_alone_is_not_the_replier() -> None:
    text = """发布机构：江州市自然资源和规划局
关于市十五届人大二次会议第88号建议的答复
吴磊代表：
您提出的关于加快农村宅基地确权登记的建议收悉，现答复如下：
全市已完成确权登记的宅基地占总数的93%。
"""
    doc = parse_reply(text)
    assert doc.replying_agency is None
    assert doc.source_agency == "江州市自然资源和规划局"


def test_signature_beats_title_and_fields() -> None:
    text = """发布机构：江州市人民政府
江州市财政局关于市政协第3号提案的答复
承办单位：江州市财政局预算科
何强委员：
您提出的《关于加大科技创新投入的提案》收悉，现答复如下：
今年市级科技投入增长12%。
江州市科学技术局
2024年6月30日
"""
    doc = parse_reply(text)
    assert doc.replying_agency == "江州市科学技术局"
    assert doc.source_agency == "江州市人民政府"


# ---------------------------------------------------------------- traditional pages with conversion residue

SIMPLIFIED = """江州市卫生健康委员会关于市政协十届三次会议第88号提案的答复
陈立委员：
您提出的《关于加强基层医疗卫生人才队伍建设的提案》收悉。现答复如下：
一是扩大定向培养。每年定向培养乡村医生60名。
二是提高待遇。基层医务人员绩效工资水平提高10%。
江州市卫生健康委员会
2021年6月30日
"""

TRADITIONAL_RESIDUE = """江州市衛(wèi)生健康委員會關(guān)于市政協(xié)十屆三次會議第88號提案的答覆
陳立委員：
您提出的《關(guān)于加強基層醫(yī)療衛(wèi)生人才隊(duì)伍建設的提案》收悉。現(xiàn)答覆如下：
一是擴(kuò)大定向培養(yǎng)。每年定向培養(yǎng)鄉(xiāng)村醫(yī)生60名。
二是提高待遇。基層醫(yī)務(wù)人員績(jì)效工資水平提高10%。
江州市衛(wèi)生健康委員會
2021年6月30日
"""

HEADER_FIELDS = (
    "title",
    "kind",
    "assembly",
    "session",
    "proposal_number",
    "proposal_title",
    "addressee",
    "replying_agency",
    "date",
)


def _header(doc: ReplyDocument) -> dict[str, object]:
    return {f: getattr(doc, f) for f in HEADER_FIELDS}


def test_traditional_with_pinyin_residue_parses_like_simplified() -> None:
    simp, trad = parse_reply(SIMPLIFIED), parse_reply(TRADITIONAL_RESIDUE)
    assert _header(simp)["replying_agency"] == "江州市卫生健康委员会"
    assert _header(trad) == _header(simp)
    assert [m.title for m in trad.measures] == ["擴大定向培養", "提高待遇"]
    assert "(" not in trad.text
    fullwidth = parse_reply(TRADITIONAL_RESIDUE.replace("(guān)", "（guān）").replace("(xiàn)", "（xiàn）"))
    assert _header(fullwidth) == _header(simp)


# ---------------------------------------------------------------- interchange format


def test_new_fields_in_the_interchange_format() -> None:
    doc = parse_reply(PAGE_DATES_ONLY)
    d = doc.to_dict()
    assert d["published"] == "2023-08-15" and d["source_agency"] == "江州市水利局"
    assert ReplyDocument.from_dict(d) == doc
    old = {k: v for k, v in d.items() if k not in ("published", "source_agency")}
    back = ReplyDocument.from_dict(old)
    assert back.published is None and back.source_agency is None
    assert back.to_dict().keys() == d.keys()


# ---------------------------------------------------------------- other header forms


def test_title_tags_numbers_and_bare_salutation() -> None:
    text = """〔人大建议〕对市二届人大三次会议0419号建议的答复
周益民代表
提出的关于加快城郊公交线路延伸的建议收悉，现答复如下：
今年新开通城郊线路3条。
答复时间：2023年6月2日
"""
    doc = parse_reply(text)
    assert doc.title == "对市二届人大三次会议0419号建议的答复"
    assert doc.proposal_number == "0419"
    assert doc.addressee == "周益民代表"
    assert doc.proposal_title == "关于加快城郊公交线路延伸的建议"
    assert doc.date == "2023-06-02"


def test_street_office_issuer_in_title() -> None:
    doc = parse_reply(
        "江州市南岸街道关于区政协六届二次会议第20220004号提案答复的函\n李梅委员：\n"
        "您提出的关于增设社区托育点的提案收悉，现答复如下：\n今年新设托育点4个。"
    )
    assert doc.replying_agency == "江州市南岸街道"


def test_chinese_year_without_zero_and_page_date_tables() -> None:
    from govnlp.parsing.header import find_date

    assert find_date(["特此函复。", "一九九六年二月九日"], {}, []) == "1996-02-09"
    assert find_date(["2019-12-04 16:48:00"], {}, []) is None
