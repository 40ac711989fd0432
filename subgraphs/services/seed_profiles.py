"""Per-item facts the catalogue's seed derives the categories and guides from: 业务领域, 法定办结时限 and
设定依据 of each of the 70 items (keyed by position in the tender's list, services.md Appendix A).

业务领域 follows the commission's divisions: radiation health sits with 职业健康 (the NHC's 职业健康司 runs
放射卫生), blood stations and clinical technologies with 医政医管, pathogen laboratories and vaccination with
疾病预防控制, 托育 and the family-planning allowances with 人口家庭, the hygiene permits (公共场所, 饮用水,
消毒产品) with 综合监督 (卫生监督).

法定办结时限 are working days: 20 by default (《中华人民共和国行政许可法》第四十二条), 45 for 医疗机构执业登记
(《医疗机构管理条例》第十六条), 30 for 医疗机构设置审批, 60 for the appraisals (鉴定), 5 for the filings.
"""

from __future__ import annotations

from dataclasses import dataclass

from subgraphs.services.catalogue import BusinessArea as A


@dataclass(frozen=True)
class ItemProfile:
    area: A
    statutory_days: int
    laws: tuple[str, ...]


_LICENSING = "《中华人民共和国行政许可法》"
_MI_REG = "《医疗机构管理条例》（国务院令第149号，2022年修订）"
_MI_RULES = "《医疗机构管理条例实施细则》"
_RADIATION = ("《中华人民共和国职业病防治法》", "《放射性同位素与射线装置安全和防护条例》（国务院令第449号）",
              "《放射诊疗管理规定》（卫生部令第46号）")
_RADIATION_PROJECT = ("《中华人民共和国职业病防治法》第十七条、第十八条", "《放射诊疗管理规定》（卫生部令第46号）",
                      "《放射诊疗建设项目卫生审查管理规定》")
_OCC_DIAG = ("《中华人民共和国职业病防治法》", "《职业病诊断与鉴定管理办法》（国家卫生健康委令第6号）")
_PHYSICIAN = ("《中华人民共和国医师法》", "《医师执业注册管理办法》（国家卫生计生委令第13号）")
_QUALIFICATION = ("《中华人民共和国医师法》", "《医师资格考试暂行办法》")
_MCH = ("《中华人民共和国母婴保健法》", "《中华人民共和国母婴保健法实施办法》", "《产前诊断技术管理办法》")
_TCM_EXPERT = ("《中华人民共和国中医药法》",
               "《中医医术确有专长人员医师资格考核注册管理暂行办法》（国家卫生计生委令第15号）")
_TCM_MI = ("《中华人民共和国中医药法》", _MI_REG, _MI_RULES)
_WATER = ("《中华人民共和国传染病防治法》", "《生活饮用水卫生监督管理办法》")
_BIOSAFETY = ("《中华人民共和国生物安全法》", "《病原微生物实验室生物安全管理条例》（国务院令第424号）")
_FAMILY = ("《中华人民共和国人口与计划生育法》", "《江苏省人口与计划生育条例》")
_VACCINE = ("《中华人民共和国疫苗管理法》", "《预防接种工作规范》")
_APPRENTICE = ("《中华人民共和国中医药法》", "《传统医学师承和确有专长人员医师资格考核考试办法》（卫生部令第52号）")
_TECHNOLOGY = ("《医疗技术临床应用管理办法》（国家卫生健康委令第1号）",)

PROFILES: dict[int, ItemProfile] = {
    1: ItemProfile(A.OCCUPATIONAL, 20, _RADIATION),
    2: ItemProfile(A.OCCUPATIONAL, 20, _RADIATION_PROJECT),
    3: ItemProfile(A.OCCUPATIONAL, 20, _RADIATION_PROJECT),
    4: ItemProfile(A.OCCUPATIONAL, 20, ("《中华人民共和国职业病防治法》第二十六条",
                                         "《职业卫生技术服务机构管理办法》（国家卫生健康委令第4号）",
                                         "《放射卫生技术服务机构管理办法》")),
    5: ItemProfile(A.OCCUPATIONAL, 20, _OCC_DIAG),
    6: ItemProfile(A.MEDICAL, 20, ("《护士条例》（国务院令第517号）", "《护士执业注册管理办法》")),
    7: ItemProfile(A.MEDICAL, 30, (_MI_REG, _MI_RULES, "《中外合资、合作医疗机构管理暂行办法》")),
    8: ItemProfile(A.MEDICAL, 20, _PHYSICIAN),
    9: ItemProfile(A.MEDICAL, 45, (_MI_REG, _MI_RULES, "《医疗机构校验管理办法（试行）》")),
    10: ItemProfile(A.MEDICAL, 20, ("《中华人民共和国禁毒法》", "《戒毒条例》", "《戒毒治疗管理办法》")),
    11: ItemProfile(A.MEDICAL, 20, ("《麻醉药品和精神药品管理条例》（国务院令第442号）",
                                    "《麻醉药品、第一类精神药品购用印鉴卡管理规定》")),
    12: ItemProfile(A.MEDICAL, 20, ("《中华人民共和国医师法》", "《外国医师来华短期行医暂行管理办法》",
                                    "《香港、澳门特别行政区医师在内地短期行医管理规定》",
                                    "《台湾地区医师在大陆短期行医管理规定》")),
    13: ItemProfile(A.MEDICAL, 20, (*_QUALIFICATION, "《香港和澳门特别行政区医师获得内地医师资格认定管理办法》",
                                    "《台湾地区医师获得大陆医师资格认定管理办法》")),
    14: ItemProfile(A.MEDICAL, 20, ("《人体器官捐献和移植条例》（国务院令第767号）", "《中华人民共和国医师法》")),
    15: ItemProfile(A.MEDICAL, 20, ("《中华人民共和国广告法》", "《医疗广告管理办法》")),
    16: ItemProfile(A.DISEASE_CONTROL, 20, (*_BIOSAFETY,
                                            "《可感染人类的高致病性病原微生物菌（毒）种或样本运输管理规定》（卫生部令第45号）")),
    17: ItemProfile(A.DISEASE_CONTROL, 20, (*_BIOSAFETY,
                                            "《人间传染的高致病性病原微生物实验室和实验活动生物安全审批管理办法》")),
    18: ItemProfile(A.MEDICAL, 20, ("《中华人民共和国献血法》", "《血站管理办法》")),
    19: ItemProfile(A.MEDICAL, 20, ("《血液制品管理条例》", "《单采血浆站管理办法》")),
    20: ItemProfile(A.MEDICAL, 20, ("《医疗器械监督管理条例》（国务院令第739号）",
                                    "《大型医用设备配置与使用管理办法（试行）》")),
    21: ItemProfile(A.MATERNAL_CHILD, 20, _MCH),
    22: ItemProfile(A.MATERNAL_CHILD, 20, _MCH),
    23: ItemProfile(A.MATERNAL_CHILD, 20, ("《人类辅助生殖技术管理办法》（卫生部令第14号）",)),
    24: ItemProfile(A.MATERNAL_CHILD, 20, ("《人类精子库管理办法》（卫生部令第15号）",)),
    25: ItemProfile(A.MEDICAL, 20, ("《乡村医生从业管理条例》（国务院令第386号）",)),
    26: ItemProfile(A.TCM, 20, _TCM_EXPERT),
    27: ItemProfile(A.TCM, 30, _TCM_MI),
    28: ItemProfile(A.TCM, 45, _TCM_MI),
    29: ItemProfile(A.TCM, 20, ("《中华人民共和国广告法》", "《中华人民共和国中医药法》", "《医疗广告管理办法》")),
    30: ItemProfile(A.TCM, 20, _TCM_EXPERT),
    31: ItemProfile(A.SUPERVISION, 20, _WATER),
    32: ItemProfile(A.SUPERVISION, 20, ("《公共场所卫生管理条例》", "《公共场所卫生管理条例实施细则》")),
    33: ItemProfile(A.SUPERVISION, 20, _WATER),
    34: ItemProfile(A.SUPERVISION, 20, ("《中华人民共和国传染病防治法实施办法》", "《消毒管理办法》",
                                        "《消毒产品生产企业卫生许可规定》")),
    35: ItemProfile(A.DISEASE_CONTROL, 20, ("《中华人民共和国疫苗管理法》第五十六条",
                                            "《江苏省预防接种异常反应补偿办法》")),
    36: ItemProfile(A.FAMILY, 20, _FAMILY),
    37: ItemProfile(A.FAMILY, 20, (*_FAMILY, "《农村部分计划生育家庭奖励扶助制度试点方案》")),
    38: ItemProfile(A.MEDICAL, 20, ("《医疗纠纷预防和处理条例》", "《解剖尸体规则》")),
    39: ItemProfile(A.MATERNAL_CHILD, 20, ("《中华人民共和国母婴保健法》", "《新生儿疾病筛查管理办法》")),
    40: ItemProfile(A.MATERNAL_CHILD, 20, ("《中华人民共和国人口与计划生育法》",
                                           "《禁止非医学需要的胎儿性别鉴定和选择性别人工终止妊娠的规定》")),
    41: ItemProfile(A.DISEASE_CONTROL, 20, ("《中华人民共和国传染病防治法》",
                                            "《传染病病人或疑似传染病病人尸体解剖查验规定》")),
    42: ItemProfile(A.MEDICAL, 20, _QUALIFICATION),
    43: ItemProfile(A.MEDICAL, 20, ("《护士条例》（国务院令第517号）", "《护士执业资格考试办法》")),
    44: ItemProfile(A.TCM, 20, _APPRENTICE),
    45: ItemProfile(A.OCCUPATIONAL, 60, _OCC_DIAG),
    46: ItemProfile(A.MEDICAL, 60, (_MI_REG, _MI_RULES)),
    47: ItemProfile(A.TCM, 20, _APPRENTICE),
    48: ItemProfile(A.DISEASE_CONTROL, 20, _VACCINE),
    49: ItemProfile(A.FAMILY, 60, (*_FAMILY, "《病残儿医学鉴定管理办法》")),
    50: ItemProfile(A.FAMILY, 60, ("《计划生育技术服务管理条例》",
                                              "《计划生育手术并发症鉴定管理办法（试行）》")),
    51: ItemProfile(A.OCCUPATIONAL, 20, ("《放射诊疗管理规定》（卫生部令第46号）",
                                         "《放射工作人员职业健康管理办法》（卫生部令第55号）")),
    52: ItemProfile(A.MEDICAL, 20, (_MI_RULES,)),
    53: ItemProfile(A.FOOD_SAFETY, 5, ("《中华人民共和国食品安全法》第三十条", "《江苏省食品安全企业标准备案办法》")),
    54: ItemProfile(A.DISEASE_CONTROL, 5, (*_VACCINE, "《狂犬病暴露预防处置工作规范》")),
    55: ItemProfile(A.SUPERVISION, 5, ("《公共场所卫生管理条例》", "《公共场所卫生管理条例实施细则》")),
    56: ItemProfile(A.OCCUPATIONAL, 5, ("《中华人民共和国职业病防治法》", "《职业健康检查管理办法》")),
    57: ItemProfile(A.OCCUPATIONAL, 5, _OCC_DIAG),
    58: ItemProfile(A.TCM, 5, ("《中华人民共和国中医药法》第十四条",
                               "《中医诊所备案管理暂行办法》（国家卫生计生委令第14号）")),
    59: ItemProfile(A.SUPERVISION, 5, ("《江苏省爱国卫生条例》",)),
    60: ItemProfile(A.SUPERVISION, 5, ("《消毒管理办法》", "《消毒产品卫生安全评价规定》")),
    61: ItemProfile(A.DISEASE_CONTROL, 5, _BIOSAFETY),
    62: ItemProfile(A.MEDICAL, 5, ("《抗菌药物临床应用管理办法》（卫生部令第84号）",)),
    63: ItemProfile(A.MEDICAL, 5, ("《中华人民共和国献血法》", "《血站管理办法》")),
    64: ItemProfile(A.MEDICAL, 5, _TECHNOLOGY),
    65: ItemProfile(A.MEDICAL, 5, _TECHNOLOGY),
    66: ItemProfile(A.MEDICAL, 5, (_MI_REG, "《诊所备案管理暂行办法》")),
    67: ItemProfile(A.MEDICAL, 5, ("《医疗美容服务管理办法》",)),
    68: ItemProfile(A.MEDICAL, 5, _PHYSICIAN),
    69: ItemProfile(A.FAMILY, 5, ("《托育机构登记和备案办法（试行）》",)),
    70: ItemProfile(A.DISEASE_CONTROL, 5, _BIOSAFETY),
}

# Licensing items (power type 行政许可) also rest on the licensing law itself.
LICENSING_LAW = _LICENSING
