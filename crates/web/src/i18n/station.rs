//! The keeper's console without dead ends, the terminal's keypad and the
//! landing page (issue 13, item 3; branch `station`).

pub(super) const STRINGS: super::Strings = &[
    ("nav.pending", "待处理", "Waiting"),
    ("station.parcel", "包裹", "Parcel"),
    ("station.back", "返回", "Back"),
    ("station.cancel", "取消", "Cancel"),
    ("station.history", "包裹轨迹", "History"),
    ("station.no_slot", "不在货架上", "Not on a shelf"),
    (
        "station.reveal",
        "显示完整号码（将记录）",
        "Show the whole number (recorded)",
    ),
    (
        "station.reveal_logged",
        "已记入审计记录",
        "recorded in the audit trail",
    ),
    (
        "station.needs_contact",
        "待补联系方式",
        "Needs the recipient's phone",
    ),
    (
        "station.needs_contact_help",
        "这些包裹已上架，但没有收件人手机号，无法通知取件。补填手机号后才会生成取件码并发出通知（或先征求收件人同意）。",
        "These parcels are on the shelf but nobody can be told: there is no recipient's phone. Once you add it, the pickup code and the notice go out (or the consent request first).",
    ),
    ("station.add_contact", "补填手机号", "Add the phone"),
    (
        "station.contact_done",
        "已补填手机号：已通知收件人或发出同意请求",
        "Phone added: the recipient is told, or asked for consent",
    ),
    (
        "station.awaiting_consent",
        "待收件人同意",
        "Waiting for the recipient's consent",
    ),
    (
        "station.awaiting_help",
        "按规定，未经收件人同意不得代收入库。联系收件人后，记录其答复、方式和时间：同意则生成取件码并通知；拒绝则退回快递公司派送上门。",
        "Parcels may be kept only with the recipient's consent. Once you reached them, record what they said, how and when: agreed, the code and the notice go out; refused, the parcel goes back to the carrier to deliver to the door.",
    ),
    ("station.answer", "收件人答复", "They said"),
    ("station.agreed", "同意代收", "Agreed"),
    (
        "station.refused",
        "拒绝，要求送货上门",
        "Refused (deliver to the door)",
    ),
    ("station.how", "方式", "How"),
    ("station.phone_call", "电话", "Phone call"),
    ("station.in_person", "到店当面", "In person"),
    ("station.by_message", "回复短信", "Replied to the message"),
    ("station.when", "时间", "When"),
    ("station.record_consent", "记录答复", "Record the answer"),
    (
        "station.agreed_done",
        "已记录同意：包裹已入库并通知收件人",
        "Consent recorded: the parcel is stored and the recipient told",
    ),
    (
        "station.refused_done",
        "已记录拒绝：包裹已转入退回",
        "Refusal recorded: the parcel goes back to the carrier",
    ),
    (
        "station.resolve",
        "处理完毕，重新上架",
        "Dealt with: back on the shelf",
    ),
    (
        "station.resolved_done",
        "已重新上架：见下方格口和取件码",
        "Back on the shelf: see the slot and code below",
    ),
    (
        "station.problems_help",
        "问题件不占格口。处理完毕可重新上架（分配格口，有同意时生成新取件码并通知），也可直接交给收件人或退回快递公司。",
        "Problem parcels hold no slot. Once dealt with, put one back on the shelf (a slot, and with consent a new code and notice), hand it to the recipient, or return it to the carrier.",
    ),
    ("station.confirm_return", "确认退回", "Confirm the return"),
    (
        "station.confirm_return_text",
        "退回后包裹离开本站，不能撤销。请核对：",
        "A returned parcel leaves the station for good. Check:",
    ),
    (
        "station.confirm_return_yes",
        "确认退回快递公司",
        "Yes, return it to the carrier",
    ),
    (
        "station.returned_done",
        "已退回快递公司",
        "Returned to the carrier",
    ),
    (
        "station.returns_help",
        "超过保管期的包裹，按快递公司分组。打印退件单交快递员签字。",
        "Parcels past their holding period, by carrier. Print the returns sheet for the couriers to sign.",
    ),
    (
        "station.print_returns",
        "打印退件单",
        "Print the returns sheet",
    ),
    (
        "station.returns_sheet",
        "退件交接单",
        "Returns handover sheet",
    ),
    ("station.station", "驿站", "Station"),
    ("station.date", "日期", "Date"),
    ("station.pieces", "件", "parcels"),
    (
        "station.sign_keeper",
        "驿站经办人签字",
        "Station keeper's signature",
    ),
    ("station.sign_courier", "快递员签收", "Courier's signature"),
    ("station.sign_date", "交接日期", "Date handed over"),
    ("station.export", "导出 Excel", "Download .xlsx"),
    ("station.next_page", "下一页 →", "Next page →"),
    ("station.first_page", "← 第一页", "← First page"),
    (
        "station.looks_like",
        "运单号更像：",
        "The waybill looks like: ",
    ),
    (
        "station.awaiting_where",
        "已上架但还没有取件码：请在「待处理」补填手机号或记录收件人同意",
        "On the shelf without a code yet: add the phone or record the recipient's consent under Waiting",
    ),
    // The door terminal.
    ("terminal.station_phone", "驿站电话", "Station phone"),
    (
        "terminal.close_door",
        "取件后请随手关好柜门。",
        "Please close the door after taking your parcels.",
    ),
    ("terminal.key_clear", "清空", "Clear"),
    ("terminal.key_next", "下一栏", "Next box"),
];
