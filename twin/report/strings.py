"""Every word of the HTML report and its figures, one table per language (``en``, ``zh``).

A key missing from a table is a programming error caught by the tests (both tables have the same keys);
:func:`tr` formats a string with ``str.format`` fields. Names the run itself carries (street names,
scenario text, assumptions) are shown as they are, untranslated.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("en", "zh")

EN: dict[str, str] = {
    "html_lang": "en",
    "title": "Resilience report: {name}",
    "subtitle": "What the city lost and how fast it came back, from one run of twin",
    "contents": "Contents",
    "sec_run": "What was run",
    "sec_headline": "Headline figures per service",
    "sec_curves": "Service levels over time",
    "sec_maps": "Maps",
    "sec_timeline": "Timeline of events",
    "sec_properties": "Resilience properties",
    # what was run
    "scenario": "Scenario",
    "description": "Description",
    "map": "Map",
    "seed": "Seed",
    "start": "Start",
    "duration": "Simulated duration",
    "step": "Time step / record interval",
    "status": "Run status",
    "status_complete": "complete",
    "status_incomplete": "incomplete: the run stopped early, figures cover {until} only",
    "hazards": "Hazards",
    "no_hazards": "none",
    "events_scripted": "Scripted events",
    "interventions": "Interventions",
    "run_folder": "Run folder",
    "software": "twin version / engine time",
    "assumptions": "Assumptions ({n})",
    "assumptions_map": "of the map ({n})",
    "assumptions_scenario": "of the scenario ({n})",
    # headline
    "service": "Service",
    "m_robustness": "Robustness (lowest Q)",
    "m_loss": "Resilience loss (h of full outage)",
    "m_index": "Resilience index",
    "m_recover": "Time to recover",
    "m_recover_h": "Time to recover (h)",
    "m_people_hours": "People-hours without service",
    "m_equity": "Equity",
    "headline_note": (
        "Q is the service level: served demand over normal demand, 1 = normal. Loss is the area above the curve "
        "(Bruneau et al. 2003); the index is the mean of Q over the run (Cimellaro et al. 2010); recovered means "
        "back to {threshold:.0%} of normal."
    ),
    "never": "not by the end",
    "not_lost": "never lost",
    "no_services": "This run recorded no service levels.",
    "one_record": (
        "The run stopped after {stopped}, before its second record of the service levels: there is no curve to draw "
        "(the table above gives the levels at the start; a longer run, or outputs.record_every shorter than the "
        "run, draws them)."
    ),
    "service_access": "Access to hospitals",
    "service_power": "Power",
    "service_water": "Water",
    "service_telecom": "Telecom",
    "service_health": "Health care",
    # durations and units
    "dur_d": "{d} d {h} h",
    "dur_h": "{h} h {m} min",
    "dur_h0": "{h} h",
    "dur_min": "{m} min",
    "dur_s": "{s} s",
    "person_hours": "{value} person-h",
    # curves
    "curves_note": (
        "Shaded: the loss area (1 - Q). Dotted lines: scripted events and interventions; the dot marks the "
        "lowest level, the triangle the recovery."
    ),
    "axis_hours": "hours since start",
    "axis_q": "Q",
    "legend_loss": "loss area",
    "legend_event": "scripted event",
    "legend_min": "lowest",
    "legend_recovered": "recovered",
    # maps
    "map_hazard_title": "Peak flood depth, roads closed and landslides",
    "map_depth": "peak water depth (m)",
    "map_closed": "road closed by the hazard",
    "map_slide": "landslide debris",
    "map_zone_outline": "service zones",
    "map_zones_title": "{service}: hours without service per zone",
    "map_zone_hours": "hours without service",
    "map_easting": "easting (km)",
    "map_northing": "northing (km)",
    "no_maps": "This run wrote no hazard or zone layers, so there is no map to draw.",
    "maps_note": "Drawn from the run folder's GeoTIFF and GeoPackage files ({crs}).",
    # timeline
    "col_time": "Time",
    "col_clock": "Clock",
    "col_what": "What",
    "col_cause": "Cause",
    "col_where": "Where",
    "timeline_more": "{n} more groups of events are in events.parquet.",
    "timeline_none": "No events were logged.",
    "and_more": "and {n} more",
    "kind_close_link": "road closed",
    "kind_open_link": "road reopened",
    "kind_fail_component": "component failed",
    "kind_repair_component": "component repaired",
    "kind_component_down": "component out of service",
    "kind_restore_component": "component back in service",
    "kind_backup_start": "on backup power",
    "kind_message": "message",
    "kind_set_hazard_parameter": "hazard changed",
    "kind_landslide": "landslide",
    "kind_vehicles_abandoned": "vehicles abandoned",
    "cause_flood": "flood",
    "cause_landslide": "landslide",
    "cause_cascade": "cascade",
    "cause_scenario": "scenario",
    "cause_outage": "outage",
    "cause_restoration": "restoration",
    "cause_backup exhausted": "backup exhausted",
    "cause_gridlock": "gridlock",
    # properties
    "prop_name": "Property",
    "prop_definition": "Definition",
    "prop_measure": "Measured by",
    "prop_values": "This run",
    "prop_source": "Source",
    "prop_robustness": "Robustness",
    "prop_robustness_def": "The ability to withstand a given level of stress without suffering loss of function.",
    "prop_robustness_measure": "lowest service level, min Q(t)",
    "prop_recoverability": "Recoverability (rapidity)",
    "prop_recoverability_def": (
        "The capacity to restore function in a timely manner, so as to contain losses and avoid disruption."
    ),
    "prop_recoverability_measure": "time from the first drop below {threshold:.0%} of normal until back above it",
    "prop_stress": "Stress resistance",
    "prop_stress_def": "How much of its function the system keeps over the whole event, not only at its worst.",
    "prop_stress_measure": "resilience index R = (1/T) ∫ Q dt and loss L = ∫ (1 - Q) dt",
    "prop_agility": "Agility",
    "prop_agility_def": "How soon the system stops degrading and starts to recover once the disruption begins.",
    "prop_agility_measure": "time from the first drop to the first rise after the lowest level",
    "prop_value_never": "does not start to recover",
    "src_bruneau": "Bruneau et al. (2003), Earthquake Spectra 19(4) 733-752",
    "src_cimellaro": "Cimellaro, Reinhorn & Bruneau (2010), Engineering Structures 32(11) 3639-3649",
    "footer": "Written by twin {version} from the run folder alone; open offline, print to A4.",
    # compare
    "cmp_title": "Comparison: {names}",
    "cmp_subtitle": "Variants side by side, with 95 % confidence intervals across seeds",
    "cmp_sec_runs": "Variants and runs",
    "cmp_sec_table": "Metric differences",
    "cmp_sec_curves": "Service levels, overlaid",
    "cmp_sec_maps": "Difference maps",
    "cmp_variant": "Variant",
    "cmp_runs": "Runs (seeds)",
    "cmp_baseline": "baseline",
    "cmp_metric": "Metric",
    "cmp_mean": "Mean [95 % CI]",
    "cmp_delta": "Difference to baseline [95 % CI]",
    "cmp_rel": "Relative",
    "cmp_real": "Real?",
    "cmp_yes": "yes",
    "cmp_no": "not shown",
    "cmp_na": "n/a",
    "cmp_note": (
        "Intervals: Student t over the seeds of a variant; differences: Welch's t (unequal variances). "
        "A difference is shown as real when its interval excludes 0. With one run per variant the "
        "difference is exact for that seed and no interval can be given."
    ),
    "cmp_depth_diff": "Peak depth: {b} minus {a} (m)",
    "cmp_closed_diff": "Roads closed: {a} only, {b} only, both",
    "cmp_closed_a": "closed in {a} only",
    "cmp_warn_span": (
        "Not comparable as they stand: the runs cover different spans of simulated time ({spans}). Resilience "
        "loss, the index and people-hours add up over the span, so they differ with it; run every variant to "
        "the same end (--until)."
    ),
    "cmp_warn_maps": ("The runs are on different maps ({maps}): their differences mix the cities with the variants."),
    "cmp_closed_b": "closed in {b} only",
    "cmp_closed_both": "closed in both",
    "cmp_zone_diff": "{service}: hours without service, {b} minus {a}",
    "cmp_no_maps": "The variants share no map layers to difference.",
    "cmp_sec_costs": "Cost and benefit of the interventions",
    "map_zoom": "Zoom in or out (then drag or scroll to pan)",
    "iv_name": "Intervention",
    "iv_type": "Type",
    "iv_detail": "Where and how much",
    "iv_cost": "Cost",
    "iv_total": "Total cost (the planner's figures): {total}",
    "iv_no_cost": "No cost given for {names}: add cost: (and currency:) to the entries to weigh them",
    "cb_none": "No variant differs from the baseline by interventions with a cost.",
    "cb_avoided": "People-hours without service avoided [95 % CI]",
    "cb_per_cost": "Avoided per unit of cost [95 % CI]",
    "cb_note": (
        "Avoided: the baseline's people-hours without the service minus the variant's (mean over seeds, Welch "
        "interval). Cost: the variant's interventions minus the baseline's, as the scenarios give them; twin has "
        "no default costs."
    ),
    # the drill's after-action report (twin drill report)
    "aar_title": "After-action report: {name}",
    "aar_subtitle": "drill folder {folder}",
    "aar_footer": "twin drill",
    "aar_sec_exercise": "Exercise overview",
    "aar_sec_objectives": "Objectives",
    "aar_sec_timeline": "Injects and the actions that followed",
    "aar_sec_outcome": "Outcome against no action",
    "aar_sec_evaluation": "Strengths and areas for improvement",
    "aar_scenario": "Scenario",
    "aar_played": "Simulated time played",
    "aar_injects_sent": "Injects sent",
    "aar_by_role": "Commands by role",
    "aar_journal": "Journal",
    "aar_journal_entries": "{count} entries in {path}",
    "aar_none": "none",
    "aar_no_objective": "(none given)",
    "aar_objective": "Objective",
    "aar_injects": "Injects",
    "aar_not_sent": "not sent",
    "aar_no_action": "no action journaled",
    "aar_action_at": "{role}: {command} {detail} at {time}",
    "aar_number": "#",
    "aar_sent_at": "Sent at",
    "aar_to": "To",
    "aar_message": "Message",
    "aar_expected": "Expected action",
    "aar_first_action": "First action of that desk",
    "aar_after": "After",
    "aar_outcome_note": (
        "No action: the same scenario, seed and injects, with none of the players' commands. Resilience loss is "
        "the area above the service curve, in hours of full outage (twin.metrics)."
    ),
    "aar_service": "Service",
    "aar_min_q_drill": "min Q drill",
    "aar_min_q_none": "min Q no action",
    "aar_loss_drill": "loss (h) drill",
    "aar_loss_none": "loss (h) no action",
    "aar_difference": "difference (h)",
    "aar_to_fill": "For the evaluators to fill.",
    "aar_the_objectives": "(the drill's objectives)",
    "aar_strengths": "Strengths",
    "aar_improvement": "Areas for improvement",
}

ZH: dict[str, str] = {
    "html_lang": "zh-CN",
    "title": "韧性报告：{name}",
    "subtitle": "城市损失了什么、恢复有多快——来自 twin 的一次模拟运行",
    "contents": "目录",
    "sec_run": "运行概况",
    "sec_headline": "各项服务的主要指标",
    "sec_curves": "服务水平随时间变化",
    "sec_maps": "地图",
    "sec_timeline": "事件时间线",
    "sec_properties": "韧性特性",
    "scenario": "情景",
    "description": "说明",
    "map": "地图",
    "seed": "随机种子",
    "start": "开始时间",
    "duration": "模拟时长",
    "step": "时间步长 / 记录间隔",
    "status": "运行状态",
    "status_complete": "完成",
    "status_incomplete": "未完成：运行提前停止，指标仅覆盖前 {until}",
    "hazards": "灾害",
    "no_hazards": "无",
    "events_scripted": "预设事件",
    "interventions": "干预措施",
    "run_folder": "运行文件夹",
    "software": "twin 版本 / 引擎耗时",
    "assumptions": "假设（{n} 条）",
    "assumptions_map": "地图假设（{n} 条）",
    "assumptions_scenario": "情景假设（{n} 条）",
    "service": "服务",
    "m_robustness": "鲁棒性（最低 Q）",
    "m_loss": "韧性损失（完全中断小时数）",
    "m_index": "韧性指数",
    "m_recover": "恢复时间",
    "m_recover_h": "恢复时间（小时）",
    "m_people_hours": "无服务人·小时",
    "m_equity": "公平性",
    "headline_note": (
        "Q 为服务水平：实际供给与正常需求之比，1 表示正常。损失为曲线上方的面积（Bruneau 等，2003）；"
        "指数为运行期间 Q 的平均值（Cimellaro 等，2010）；恢复指回到正常水平的 {threshold:.0%}。"
    ),
    "never": "未恢复",
    "not_lost": "未中断",
    "no_services": "本次运行没有记录服务水平。",
    "one_record": (
        "本次运行在 {stopped} 后停止，早于服务水平的第二次记录：没有可绘制的曲线"
        "（上表给出开始时的水平；运行更久，或将 outputs.record_every 设得比运行时长更短，即可绘出曲线）。"
    ),
    "service_access": "就医可达性",
    "service_power": "电力",
    "service_water": "供水",
    "service_telecom": "通信",
    "service_health": "医疗",
    "dur_d": "{d} 天 {h} 小时",
    "dur_h": "{h} 小时 {m} 分钟",
    "dur_h0": "{h} 小时",
    "dur_min": "{m} 分钟",
    "dur_s": "{s} 秒",
    "person_hours": "{value} 人·小时",
    "curves_note": "阴影：损失面积（1 - Q）。虚线：预设事件与干预措施；圆点为最低水平，三角为恢复时刻。",
    "axis_hours": "自开始起的小时数",
    "axis_q": "Q",
    "legend_loss": "损失面积",
    "legend_event": "预设事件",
    "legend_min": "最低点",
    "legend_recovered": "恢复",
    "map_hazard_title": "最大淹没水深、封闭道路与滑坡",
    "map_depth": "最大水深（米）",
    "map_closed": "因灾封闭的道路",
    "map_slide": "滑坡堆积体",
    "map_zone_outline": "服务分区",
    "map_zones_title": "{service}：各分区无服务小时数",
    "map_zone_hours": "无服务小时数",
    "map_easting": "东坐标（千米）",
    "map_northing": "北坐标（千米）",
    "no_maps": "本次运行没有写出灾害或分区图层，因此无地图可绘制。",
    "maps_note": "根据运行文件夹中的 GeoTIFF 与 GeoPackage 文件绘制（{crs}）。",
    "col_time": "时间",
    "col_clock": "时刻",
    "col_what": "事件",
    "col_cause": "原因",
    "col_where": "位置",
    "timeline_more": "另有 {n} 组事件见 events.parquet。",
    "timeline_none": "没有记录任何事件。",
    "and_more": "另有 {n} 处",
    "kind_close_link": "道路封闭",
    "kind_open_link": "道路重新开放",
    "kind_fail_component": "设施损毁",
    "kind_repair_component": "设施修复",
    "kind_component_down": "设施停止服务",
    "kind_restore_component": "设施恢复服务",
    "kind_backup_start": "启用备用电源",
    "kind_message": "消息",
    "kind_set_hazard_parameter": "灾害参数变更",
    "kind_landslide": "滑坡",
    "kind_vehicles_abandoned": "车辆被弃置",
    "cause_flood": "洪水",
    "cause_landslide": "滑坡",
    "cause_cascade": "连锁故障",
    "cause_scenario": "情景",
    "cause_outage": "停电",
    "cause_restoration": "恢复",
    "cause_backup exhausted": "备用电源耗尽",
    "cause_gridlock": "交通瘫痪",
    "prop_name": "特性",
    "prop_definition": "定义",
    "prop_measure": "度量指标",
    "prop_values": "本次运行",
    "prop_source": "来源",
    "prop_robustness": "鲁棒性",
    "prop_robustness_def": "系统承受一定程度的冲击而不丧失功能的能力。",
    "prop_robustness_measure": "最低服务水平 min Q(t)",
    "prop_recoverability": "可恢复性（快速性）",
    "prop_recoverability_def": "及时恢复功能、控制损失并避免进一步中断的能力。",
    "prop_recoverability_measure": "自首次低于正常水平的 {threshold:.0%} 起至重新高于该水平的时间",
    "prop_stress": "抗压性",
    "prop_stress_def": "系统在整个事件期间（而不仅是最坏时刻）保持功能的程度。",
    "prop_stress_measure": "韧性指数 R = (1/T) ∫ Q dt 与损失 L = ∫ (1 - Q) dt",
    "prop_agility": "敏捷性",
    "prop_agility_def": "扰动开始后，系统多快停止恶化并开始恢复。",
    "prop_agility_measure": "自首次下降至最低点之后首次回升的时间",
    "prop_value_never": "未开始恢复",
    "src_bruneau": "Bruneau 等（2003），Earthquake Spectra 19(4) 733-752",
    "src_cimellaro": "Cimellaro、Reinhorn 与 Bruneau（2010），Engineering Structures 32(11) 3639-3649",
    "footer": "由 twin {version} 仅根据运行文件夹生成；可离线打开，可打印为 A4。",
    "cmp_title": "方案对比：{names}",
    "cmp_subtitle": "各方案并列比较，含跨随机种子的 95% 置信区间",
    "cmp_sec_runs": "方案与运行",
    "cmp_sec_table": "指标差异",
    "cmp_sec_curves": "服务水平叠加对比",
    "cmp_sec_maps": "差异地图",
    "cmp_variant": "方案",
    "cmp_runs": "运行次数（种子）",
    "cmp_baseline": "基准",
    "cmp_metric": "指标",
    "cmp_mean": "均值 [95% 置信区间]",
    "cmp_delta": "与基准之差 [95% 置信区间]",
    "cmp_rel": "相对差",
    "cmp_real": "是否显著",
    "cmp_yes": "是",
    "cmp_no": "不显著",
    "cmp_na": "不适用",
    "cmp_note": (
        "区间：同一方案各随机种子的 Student t 区间；差值：Welch t 区间（方差不等）。区间不含 0 时差异视为显著。"
        "每个方案只有一次运行时，差值对该种子是精确的，无法给出区间。"
    ),
    "cmp_depth_diff": "最大水深：{b} 减 {a}（米）",
    "cmp_closed_diff": "封闭道路：仅 {a}、仅 {b}、两者皆有",
    "cmp_closed_a": "仅在 {a} 中封闭",
    "cmp_warn_span": (
        "各运行覆盖的模拟时长不同（{spans}），结果不可直接比较：韧性损失、韧性指数与人·小时随时长累积；"
        "请让各方案运行到相同的终点（--until）。"
    ),
    "cmp_warn_maps": "各运行使用了不同的地图（{maps}）：差异混合了城市之间与方案之间的差别。",
    "cmp_closed_b": "仅在 {b} 中封闭",
    "cmp_closed_both": "两者皆封闭",
    "cmp_zone_diff": "{service}：无服务小时数，{b} 减 {a}",
    "cmp_no_maps": "各方案没有可供相减的共同图层。",
    "cmp_sec_costs": "干预措施的成本与效益",
    "map_zoom": "放大或缩小（然后拖动或滚动平移）",
    "iv_name": "干预措施",
    "iv_type": "类型",
    "iv_detail": "位置与规模",
    "iv_cost": "成本",
    "iv_total": "总成本（规划者提供的数字）：{total}",
    "iv_no_cost": "未给出成本：{names}；在条目中加入 cost:（及 currency:）即可权衡",
    "cb_none": "没有方案在有成本的干预措施上与基准不同。",
    "cb_avoided": "避免的无服务人·小时 [95% 置信区间]",
    "cb_per_cost": "每单位成本避免的损失 [95% 置信区间]",
    "cb_note": (
        "避免量：基准的无服务人·小时减去该方案的（跨种子均值，Welch 区间）。成本：该方案的干预措施成本减去基准的，"
        "按情景文件所给；twin 不提供默认成本。"
    ),
    # 演练的事后评估报告（twin drill report）
    "aar_title": "演练事后评估报告：{name}",
    "aar_subtitle": "演练文件夹 {folder}",
    "aar_footer": "twin drill",
    "aar_sec_exercise": "演练概况",
    "aar_sec_objectives": "演练目标",
    "aar_sec_timeline": "注入事件及随后的处置行动",
    "aar_sec_outcome": "与不采取行动的结果对比",
    "aar_sec_evaluation": "优点与待改进之处",
    "aar_scenario": "情景",
    "aar_played": "已演练的模拟时间",
    "aar_injects_sent": "已发送的注入事件",
    "aar_by_role": "各角色发出的指令",
    "aar_journal": "日志",
    "aar_journal_entries": "{path} 中共 {count} 条记录",
    "aar_none": "无",
    "aar_no_objective": "（未给出）",
    "aar_objective": "目标",
    "aar_injects": "注入事件",
    "aar_not_sent": "未发送",
    "aar_no_action": "日志中无处置行动",
    "aar_action_at": "{role}：{command} {detail}，于 {time}",
    "aar_number": "编号",
    "aar_sent_at": "发送时间",
    "aar_to": "接收方",
    "aar_message": "消息",
    "aar_expected": "预期行动",
    "aar_first_action": "该席位的首个行动",
    "aar_after": "用时",
    "aar_outcome_note": (
        "不采取行动：相同的情景、随机种子和注入事件，但不含任何参演人员的指令。韧性损失为服务曲线上方的面积，"
        "以完全中断的小时数计（twin.metrics）。"
    ),
    "aar_service": "服务",
    "aar_min_q_drill": "演练最低 Q",
    "aar_min_q_none": "无行动最低 Q",
    "aar_loss_drill": "演练损失（小时）",
    "aar_loss_none": "无行动损失（小时）",
    "aar_difference": "差值（小时）",
    "aar_to_fill": "由评估人员填写。",
    "aar_the_objectives": "（本次演练的目标）",
    "aar_strengths": "优点",
    "aar_improvement": "待改进之处",
}

TABLES: dict[str, dict[str, str]] = {"en": EN, "zh": ZH}


def table(lang: str) -> dict[str, str]:
    """The string table of ``lang``.

    Raises
    ------
    ValueError
        If ``lang`` is not one of :data:`LANGUAGES` (the CLI restricts the choice, so this is a programming error).
    """
    if lang not in TABLES:
        raise ValueError(f"unknown report language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    return TABLES[lang]


def tr(lang: str, key: str, **fields: Any) -> str:
    """The string ``key`` in ``lang``, formatted with ``fields``."""
    text = table(lang)[key]
    return text.format(**fields) if fields else text


def tr_or(lang: str, key: str, default: str) -> str:
    """The string ``key`` in ``lang`` if the table has it, else ``default`` (names the run brings, e.g. a new kind)."""
    return table(lang).get(key, default)
