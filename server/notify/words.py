"""Words for what notifications mention: mutation names and review codes, in Chinese and
English, so a manager reads "签到 · 与其他服务记录时间重叠" and not "hours.check_in
(hours_overlap)".

``tests/test_notify_words.py`` walks every registered mutation and every code a mutator
can flag and fails for one without words here (and in the app's strings), so a new one
cannot ship with a raw code. Unknown names still render (as the name itself), never fail.
"""

from __future__ import annotations

Text = tuple[str, str]

MUTATIONS: dict[str, Text] = {
    "activity.create": ("新建服务活动", "new service activity"),
    "alert.set_donation_threshold": ("设定大额捐赠线", "set large-donation line"),
    "alert.set_fund_low_water": ("设定基金余额提醒线", "set fund low-water mark"),
    "attachment.add": ("添加照片或文件", "photos or files added"),
    "attachment.remove": ("移除照片或文件", "photo or file removed"),
    "ballot.booth": ("投票点选票", "booth ballot"),
    "ballot.cast": ("手机投票", "ballot on own phone"),
    "ballot.tally": ("录入纸质票", "paper ballot tally"),
    "campaign.create": ("登记募捐活动", "new fundraising campaign"),
    "campaign.update": ("修改募捐活动", "fundraising campaign edit"),
    "catalogue.add": ("新增兑换项目", "new catalogue item"),
    "catalogue.restock": ("调整库存", "stock change"),
    "catalogue.update": ("修改兑换项目", "catalogue item edit"),
    "conflict.resolve": ("处理冲突", "conflict resolution"),
    "correction.decide": ("审批更正", "correction decision"),
    "disbursement.decide": ("审批拨付", "disbursement decision"),
    "disbursement.pay": ("拨付付款", "disbursement payment"),
    "disbursement.request": ("申请拨付", "disbursement request"),
    "district.create": ("新建辖区", "new district"),
    "donation.allocate": ("分配捐赠到基金", "donation allocation"),
    "donation.correct": ("更正或作废捐赠", "donation correction"),
    "donation.record": ("记录捐赠", "donation record"),
    "evaluation.submit": ("提交项目评估", "project evaluation"),
    "event.create": ("新建活动", "new event"),
    "event.delete": ("删除活动", "event deletion"),
    "event.update": ("修改活动", "event edit"),
    "feedback.record": ("记录受益人反馈", "beneficiary feedback"),
    "fund.create": ("新建基金", "new fund"),
    "fund.seed": ("注入种子资金", "seed money"),
    "goods.hand_out": ("发放物资", "goods hand-out"),
    "grant.create": ("签订资助协议", "grant agreement"),
    "group.register": ("登记社区社会组织", "community group registration"),
    "group.set_members": ("修改组织成员", "group members change"),
    "hours.approve": ("批准时数", "hours approval"),
    "hours.check_in": ("签到", "check-in"),
    "hours.check_out": ("签退", "check-out"),
    "hours.edit": ("修改时数", "hours edit"),
    "hours.manual": ("补录时数", "manual hours"),
    "hours.reject": ("驳回时数", "hours rejection"),
    "hours.reverse": ("冲销时数", "hours reversal"),
    "indicator.record": ("记录指标实际值", "indicator actual"),
    "matching_rule.create": ("设立配捐规则", "new matching rule"),
    "matching_rule.update": ("修改配捐规则", "matching rule edit"),
    "membership.add": ("添加角色", "role added"),
    "membership.end": ("结束角色", "role ended"),
    "milestone.set": ("修改项目里程碑", "milestone plan"),
    "need.erase_contact": ("删除需求中的个人信息", "need personal data erased"),
    "need.merge": ("合并重复需求", "needs merged"),
    "need.publish": ("发布需求标题", "need title published"),
    "need.submit": ("提交社区需求", "community need raised"),
    "notification.mark_all_read": ("全部标为已读", "mark all read"),
    "notification.mark_read": ("标记通知", "notification mark"),
    "notification_prefs.set": ("修改提醒设置", "notification settings"),
    "person.create": ("添加人员", "new person"),
    "person.update": ("修改人员资料", "person edit"),
    "progress.report": ("提交项目进度", "progress report"),
    "project.create": ("新建项目", "new project"),
    "proposal.conclude": ("作出评审结论", "proposal review conclusion"),
    "proposal.edit": ("修改提案", "proposal edit"),
    "proposal.submit": ("提交微创投提案", "proposal submission"),
    "proposal.withdraw": ("撤回提案", "proposal withdrawal"),
    "receipt.attach_official": ("登记正式票据", "official receipt"),
    "receipt.reissue": ("重开收据", "receipt reissue"),
    "receipt.reprint": ("补打收据", "receipt reprint"),
    "receipt.withdraw": ("撤回收据", "receipt withdrawal"),
    "receipt_series.claim": ("领取收据号段", "receipt series claim"),
    "redemption.approve": ("批准兑换", "redemption approval"),
    "redemption.decline": ("拒绝或撤回兑换", "redemption declined"),
    "redemption.fulfil": ("兑换已交付", "redemption handed over"),
    "redemption.request": ("积分兑换", "credit redemption"),
    "service_project.close": ("服务项目结项", "service project closing"),
    "service_project.create": ("新建服务项目", "new service project"),
    "review.assign": ("指派评审", "reviewer assignment"),
    "review.declare_conflict": ("声明利益冲突", "conflict of interest declared"),
    "review.submit": ("提交评审", "review submission"),
    "round.advance": ("推进微创投阶段", "round phase change"),
    "round.create": ("设立社区公益微创投", "new micro-venture round"),
    "round.publish_results": ("公布投票结果", "results published"),
    "round.update": ("修改微创投规则", "round rules edit"),
    "station.create": ("新建站点", "new station"),
    "station.update": ("修改站点", "station edit"),
    "sync_issue.resolve": ("标为已处理", "marked handled"),
    "timebank.set_rate": ("设定积分标准", "credit rate"),
    "timebank.transfer": ("转赠积分", "credit transfer"),
    "tranche.add": ("追加资助分期", "grant tranche added"),
    "tranche.request": ("申请分期拨付", "tranche request"),
    "visit.follow_up_done": ("督查整改完成", "follow-up done"),
    "visit.record": ("记录督查", "supervision visit"),
    "volunteer.register": ("登记志愿者", "volunteer registration"),
    "volunteer.update": ("修改志愿者资料", "volunteer edit"),
}

CODES: dict[str, Text] = {
    "conflict_recorded": ("与另一台手机的修改冲突", "conflicts with another phone's edit"),
    "hours_overlap": ("与其他服务记录时间重叠", "overlaps another hour log"),
    "hours_clock_ahead": ("手机时间比服务器快", "the phone's clock is ahead"),
    "hours_late_sync": ("很久之后才上传(离线或时钟落后)", "uploaded long after (offline or clock behind)"),
    "hours_backdated": ("为其他站点志愿者补登的签到", "a backdated check-in of another station's volunteer"),
    "hours_long_session": ("服务时长超过常规上限", "longer than the usual session cap"),
    "balance_negative": ("冲销后志愿者积分为负", "the volunteer's credits went below zero"),
    "balance_insufficient": ("积分不足,兑换待审核", "not enough credits; redemption held"),
    "out_of_stock": ("无库存,兑换待审核", "out of stock; redemption held"),
    "donation_unallocated": ("站点尚无基金,捐赠待分配", "no fund at the station yet; gift to allocate"),
    "fund_overdrawn": ("更正后基金余额为负", "the fund went below zero after a correction"),
    "duplicate_ballot": ("同一居民的第二张选票(较早投出的计入)",
                         "a second ballot of one resident (the earlier cast counts)"),
    "ballot_clock_ahead": ("投票点手机时间比服务器快", "the booth phone's clock is ahead"),
}

PERIOD_KINDS: dict[str, Text] = {
    "quarter": ("季度", "quarterly"),
    "interim": ("阶段", "interim"),
    "final": ("结项", "final"),
}
"""A disclosure period's kind (server/domain/disclosure.py), in the reminder's words."""


def period_words(kind: object) -> Text:
    text = str(kind or "?")
    return PERIOD_KINDS.get(text, (text, text))


def mutation_words(name: object) -> Text:
    text = str(name or "?")
    return MUTATIONS.get(text, (text, text))


def code_words(code: object) -> Text:
    text = str(code or "?")
    return CODES.get(text, (text, text))
