//! Simplified Chinese first, English available. Every string the pages
//! show is in one of the tables below (one per area, so the areas' pages
//! grow without touching each other's lines); a page asks `t.get("key")`.
//! A key missing from every table shows as "?" and is logged, and a test
//! walks the templates so that never ships.

mod carrier;
mod centre;
mod centre_office;
mod finance;
mod station;
// Branch board (issue 16).
mod board;
// branch vehicles (issue 20).
mod fleet;
// branch send-page (issue 14)
mod send;
// branch kiosks (issue 14)
mod kiosks;
// The sorting hub's board (issue 16, point 4).
mod hub;
// branch claims (issue 15)
mod claims;
// branch presale (issue 14)
mod presale;
// branch kiosk-dev (issue 14, session 10).
mod kiosk_screen;
// branch money2 (issue 15, session 10): collection plans.
mod plans;

/// The language type is `app`'s, so error messages and pages agree.
pub use app::Lang;

/// From the `lang` cookie; Chinese unless English was chosen.
pub fn from_cookie(value: Option<&str>) -> Lang {
    match value {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    }
}

/// The translator a page renders with.
#[derive(Debug, Clone, Copy)]
pub struct Tr(pub Lang);

impl Tr {
    pub fn get(&self, key: &str) -> &'static str {
        match all().find(|(k, _, _)| *k == key) {
            Some((_, zh, en)) => match self.0 {
                Lang::Zh => zh,
                Lang::En => en,
            },
            None => {
                tracing::warn!(key, "untranslated UI string");
                "?"
            }
        }
    }

    pub fn lang(&self) -> &'static str {
        self.0.code()
    }

    pub fn is_en(&self) -> bool {
        self.0 == Lang::En
    }
}

/// (key, 简体中文, English)
pub type Strings = &'static [(&'static str, &'static str, &'static str)];

/// Every area's table.
const TABLES: &[Strings] = &[
    STRINGS,
    centre::STRINGS,
    carrier::STRINGS,
    centre_office::STRINGS,
    station::STRINGS,
    board::STRINGS,
    finance::STRINGS,
    fleet::STRINGS,
    send::STRINGS,
    kiosks::STRINGS,
    hub::STRINGS,
    claims::STRINGS,
    presale::STRINGS,
    kiosk_screen::STRINGS,
    plans::STRINGS,
];

fn all() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    TABLES.iter().flat_map(|table| table.iter())
}

/// The keeper's console, the terminal, the QR page and the compliance page.
const STRINGS: &[(&str, &str, &str)] = &[
    // The compliance page (issue 12).
    // The approvals page (maker–checker, issue 12).
    ("approvals.title", "审批", "Approvals"),
    ("approvals.back", "← 返回", "← Back"),
    (
        "approvals.explain",
        "超出限额的敏感操作（长时段导出、当日超量查看完整手机号）需另一位县级中心人员或管理员批准；批准后申请人重试即可。",
        "Sensitive acts above their limits (exports over long periods, whole phones beyond the day's count) need another county staff member or the administrator to approve; once approved, the requester simply tries again.",
    ),
    ("approvals.to_decide", "待我审批", "Waiting for my decision"),
    (
        "approvals.none_to_decide",
        "没有待审批的申请",
        "Nothing waiting",
    ),
    ("approvals.mine", "我的申请", "My requests"),
    ("approvals.none_mine", "还没有申请", "No requests yet"),
    ("approvals.kind", "类型", "Kind"),
    ("approvals.kind.bulk_export", "大范围导出", "Bulk export"),
    (
        "approvals.kind.phone_reveal",
        "查看完整手机号（超出当日限额）",
        "Whole phone beyond the day's count",
    ),
    ("approvals.scope", "范围", "Scope"),
    ("approvals.export.reconciliation", "对账", "Reconciliation"),
    ("approvals.export.fee_ledger", "费用明细", "Fee ledger"),
    ("approvals.parcel", "包裹", "Parcel"),
    ("approvals.requester", "申请人", "Requested by"),
    ("approvals.requested_at", "申请时间", "Requested at"),
    ("approvals.state", "状态", "State"),
    ("approvals.state.pending", "待审批", "pending"),
    (
        "approvals.state.approved",
        "已批准（可使用）",
        "approved (usable)",
    ),
    ("approvals.state.refused", "已拒绝", "refused"),
    ("approvals.state.used", "已使用", "used"),
    ("approvals.state.expired", "已过期", "expired"),
    ("approvals.decider", "审批人", "Decided by"),
    ("approvals.note", "说明", "Note"),
    ("approvals.approve", "批准", "Approve"),
    ("approvals.refuse", "拒绝", "Refuse"),
    ("approvals.why", "拒绝理由", "Why refused"),
    ("compliance.title", "合规管理", "Compliance"),
    ("compliance.findings", "合规问题", "Findings"),
    ("compliance.run", "立即运行合规检查", "Run the checks now"),
    (
        "compliance.ran",
        "检查完成，新增问题",
        "Checks done; new findings:",
    ),
    ("compliance.all", "全部", "All"),
    ("compliance.owner", "责任条线", "Owner"),
    ("compliance.rule", "检查项", "Rule"),
    ("compliance.responsible", "责任人", "Responsible"),
    ("compliance.age", "已存在", "Age"),
    ("compliance.days", "天", "days"),
    ("compliance.due", "整改期限", "Due"),
    ("compliance.overdue", "已逾期", "overdue"),
    ("compliance.status", "状态", "Status"),
    ("compliance.found", "发现时间", "Found"),
    ("compliance.last_seen", "最近一次仍存在", "Last seen"),
    (
        "compliance.evidence",
        "证据（编号与计数）",
        "Evidence (ids and counts)",
    ),
    ("compliance.history", "处理记录", "History"),
    ("compliance.update", "处理", "Follow up"),
    (
        "compliance.assign",
        "改派给（用户名）",
        "Assign to (username)",
    ),
    ("compliance.note", "说明", "Note"),
    ("compliance.save", "保存", "Save"),
    ("audit.title", "审计记录", "Audit trail"),
    ("audit.intact", "审计链完整", "Chain intact"),
    ("audit.broken", "审计链断裂于第", "Chain broken at row"),
    ("audit.rows", "条", "rows"),
    ("audit.head", "链头", "head"),
    ("audit.all_acts", "全部事项", "All acts"),
    ("audit.filter", "筛选", "Filter"),
    ("audit.at", "时间", "Time"),
    ("audit.actor", "操作人", "Actor"),
    ("audit.act", "事项", "Act"),
    ("audit.object", "对象", "Object"),
    ("audit.station", "驿站", "Station"),
    ("audit.details", "详情", "Details"),
    ("app.name", "驿站", "yizhan"),
    ("app.console", "驿站管理台", "Station console"),
    ("lang.switch", "English", "中文"),
    ("login.title", "登录", "Sign in"),
    ("login.username", "用户名", "Username"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Sign in"),
    (
        "login.failed",
        "用户名或密码不正确",
        "Wrong username or password",
    ),
    ("logout", "退出", "Sign out"),
    (
        "login.changed",
        "密码已修改，请用新密码登录。",
        "Your password has been changed; sign in with the new one.",
    ),
    ("account.password", "修改密码", "Change password"),
    ("account.current", "当前密码", "Current password"),
    (
        "account.new",
        "新密码（8 至 128 个字符）",
        "New password (8 to 128 characters)",
    ),
    ("account.repeat", "再次输入新密码", "New password again"),
    (
        "account.hint",
        "修改后，这个账号在所有设备上的登录都会失效，需要用新密码重新登录。",
        "Once changed, this account is signed out on every device; sign in again with the new password.",
    ),
    ("account.submit", "修改密码", "Change password"),
    (
        "account.mismatch",
        "两次输入的新密码不一致",
        "The two new passwords differ",
    ),
    ("account.back", "返回", "Back"),
    ("stations.title", "选择驿站", "Choose a station"),
    ("nav.home", "概览", "Overview"),
    ("nav.inbound", "入库", "Inbound"),
    ("nav.shelves", "货架", "Shelves"),
    ("nav.search", "查件/出库", "Find & hand out"),
    ("nav.problems", "问题件", "Problems"),
    ("nav.returns", "退回清单", "Returns"),
    ("nav.terminal", "自助终端", "Terminal"),
    ("nav.devices", "设备", "Devices"),
    ("summary.title", "今日", "Today"),
    ("summary.in", "入库", "In"),
    ("summary.out", "出库", "Out"),
    ("summary.held", "在库", "Held"),
    ("summary.overdue", "超期", "Overdue"),
    ("summary.problems", "问题", "Problems"),
    ("alerts.title", "提醒", "Alerts"),
    ("alerts.none", "没有提醒", "No alerts"),
    ("alerts.ack", "知道了", "Acknowledge"),
    ("alerts.acked", "已处理", "Acknowledged"),
    ("devices.title", "设备", "Devices"),
    (
        "devices.none",
        "还没有设备上报",
        "No device has reported yet",
    ),
    ("devices.online", "在线", "online"),
    ("devices.offline", "离线", "OFFLINE"),
    ("devices.door", "门禁", "Door"),
    ("devices.lights", "灯带", "Light strip"),
    ("devices.scanner", "扫描枪", "Scanner"),
    (
        "devices.hint",
        "只有登记在此的设备能与服务器通信；未登记设备的消息会被拒收并提醒您。换新设备时点“更换”，旧设备立即停用。",
        "Only devices registered here can talk to the server; messages from others are refused and you are alerted. Replace a device to stop the old one at once.",
    ),
    (
        "devices.none_registered",
        "还没有登记设备",
        "No device is registered yet",
    ),
    ("devices.kind", "类型", "Kind"),
    ("devices.id", "设备编号", "Device id"),
    ("devices.model", "型号", "Model"),
    ("devices.firmware", "固件", "Firmware"),
    ("devices.last_seen", "最后联系", "Last seen"),
    ("devices.state", "状态", "State"),
    ("devices.sensor", "门磁", "Door sensor"),
    ("devices.sensor_open", "门开着", "open"),
    ("devices.sensor_closed", "门已关", "closed"),
    ("devices.sensor_forced", "被强行打开", "FORCED"),
    ("devices.retired", "已停用", "retired"),
    ("devices.never_seen", "从未联系", "never seen"),
    ("devices.new_id", "新设备编号", "New device id"),
    ("devices.replace", "更换", "Replace"),
    ("devices.register", "登记设备", "Register a device"),
    (
        "devices.contact_phone",
        "驿站联系电话",
        "Station contact phone",
    ),
    (
        "devices.contact_phone_hint",
        "公开号码：门打不开时，自助终端会请取件人拨打它。",
        "A public number: when the door cannot open, the terminal asks the customer to call it.",
    ),
    ("devices.save", "保存", "Save"),
    ("inbound.title", "扫码入库", "Scan parcels in"),
    (
        "inbound.carrier",
        "快递公司（本批）",
        "Carrier (this batch)",
    ),
    ("inbound.waybill", "运单号", "Waybill number"),
    (
        "inbound.waybill_hint",
        "用扫描枪扫描面单条码，回车提交",
        "Scan the label's barcode; Enter submits",
    ),
    (
        "inbound.phone",
        "手机号（未预报时填写）",
        "Phone (if not announced)",
    ),
    ("inbound.size", "尺寸", "Size"),
    ("inbound.submit", "入库", "Store"),
    ("inbound.stored", "已入库", "Stored"),
    (
        "inbound.duplicate",
        "重复扫描：已在架上",
        "Already on the shelf",
    ),
    (
        "inbound.awaiting",
        "等待收件人同意，暂无取件码",
        "Waiting for the recipient's consent; no code yet",
    ),
    ("inbound.error", "无法入库", "Not stored"),
    ("inbound.code", "取件码", "Pickup code"),
    ("inbound.slot", "格口", "Slot"),
    ("inbound.print", "打印标签", "Print label"),
    ("inbound.batch", "本批已扫", "This batch"),
    ("size.small", "小件", "Small"),
    ("size.medium", "中件", "Medium"),
    ("size.large", "大件", "Large"),
    ("shelves.title", "货架占用", "Shelf occupancy"),
    (
        "shelves.legend",
        "数字为在架件数/容量；橙色有超期件",
        "Parcels / capacity; orange holds overdue parcels",
    ),
    ("search.title", "查件", "Find parcels"),
    (
        "search.query",
        "取件码、手机尾号或运单号",
        "Pickup code, phone tail or waybill",
    ),
    ("search.submit", "查询", "Find"),
    ("search.none", "没有找到", "Nothing found"),
    ("parcel.waybill", "运单号", "Waybill"),
    ("parcel.carrier", "快递", "Carrier"),
    ("parcel.recipient", "收件人", "Recipient"),
    ("parcel.phone", "电话", "Phone"),
    ("parcel.state", "状态", "State"),
    ("parcel.code", "取件码", "Code"),
    ("parcel.slot", "格口", "Slot"),
    ("parcel.stored_at", "入库时间", "Stored"),
    ("parcel.overdue", "超期", "overdue"),
    ("handout.title", "人工出库", "Hand out"),
    ("handout.shown", "收件人出示", "Recipient showed"),
    ("handout.message", "取件短信", "Arrival message"),
    ("handout.id_card", "身份证", "ID card"),
    ("handout.app_qr", "App 取件码", "App QR code"),
    ("handout.note", "备注", "Note"),
    ("handout.submit", "确认出库", "Hand out"),
    ("handout.done", "已出库", "Handed out"),
    ("problem.submit", "标记问题件", "Mark as problem"),
    ("problem.kind", "问题", "Problem"),
    ("problem.damaged", "破损", "Damaged"),
    ("problem.wrong_address", "地址错误", "Wrong address"),
    ("problem.refused", "拒收", "Refused"),
    ("problem.lost", "丢失", "Lost"),
    ("return.submit", "退回快递公司", "Return to carrier"),
    ("problems.title", "问题件", "Problem parcels"),
    (
        "returns.title",
        "超期退回清单",
        "Overdue: return to carriers",
    ),
    ("returns.print", "打印", "Print"),
    ("list.none", "没有", "None"),
    ("done.ok", "完成", "Done"),
    ("error.title", "出错了", "Something went wrong"),
    ("error.back", "返回", "Back"),
    ("terminal.title", "自助取件", "Self-service pickup"),
    (
        "terminal.pair",
        "把这台设备设为自助终端",
        "Make this device the self-service terminal",
    ),
    (
        "terminal.pair_hint",
        "本设备将退出管理台，只能用于本站取件。",
        "This device leaves the console and serves pickups at this station only.",
    ),
    (
        "terminal.welcome",
        "请输入取件码和手机号后 4 位，或扫描短信中的二维码",
        "Enter your pickup code and your phone's last 4 digits, or scan the QR code in your message",
    ),
    ("terminal.code", "取件码", "Pickup code"),
    ("terminal.tail", "手机号后 4 位", "Phone's last 4 digits"),
    ("terminal.go", "开门取件", "Open the door"),
    ("terminal.door_open", "门已打开", "The door is open"),
    (
        "terminal.door_opening",
        "正在开门，请稍候……",
        "Opening the door, please wait…",
    ),
    (
        "terminal.door_failed",
        "门没能打开。您的包裹还在货架上，没有记为已取，驿站管理员已收到提醒。",
        "The door did not open. Your parcels are still on the shelf and not marked as collected; the keeper has been alerted.",
    ),
    (
        "terminal.door_call",
        "请拨打驿站电话 {phone}，或稍后再来。",
        "Please call the station on {phone}, or come back later.",
    ),
    (
        "terminal.door_come_back",
        "请稍后再来，或联系驿站管理员。",
        "Please come back later, or contact the station keeper.",
    ),
    (
        "terminal.go_to",
        "请到亮起以下颜色灯光的格口取件：",
        "Take your parcels from the slots lit in:",
    ),
    (
        "terminal.scan",
        "取出包裹后，请在出口扫描每个包裹的条码",
        "At the checkout, scan each parcel's barcode",
    ),
    (
        "terminal.scan_input",
        "扫描包裹条码",
        "Scan a parcel's barcode",
    ),
    ("terminal.taken", "已取", "Taken"),
    ("terminal.waiting", "待取", "To take"),
    (
        "terminal.not_yours",
        "这不是您的包裹，请放回原处",
        "This is not your parcel; please put it back",
    ),
    (
        "terminal.already",
        "这个包裹已经登记过了",
        "This parcel is already recorded",
    ),
    (
        "terminal.all_done",
        "全部取完，谢谢！",
        "All taken. Thank you!",
    ),
    ("terminal.finish", "结束取件", "Finish"),
    // Issue 20 (session 10): a vehicle at the station, served by the terminal.
    ("terminal.vehicles", "车辆到站", "Vehicles at the station"),
    (
        "terminal.vehicle_parcels",
        "{n} 件，格口 {compartments}",
        "{n} parcels, compartments {compartments}",
    ),
    ("terminal.vehicle_open", "开舱", "Open compartments"),
    (
        "terminal.vehicle_open_collection",
        "开放车上取件",
        "Open for collection",
    ),
    (
        "terminal.vehicle_hand_over",
        "交接入库",
        "Hand over to the shelves",
    ),
    (
        "terminal.vehicle_opened",
        "已发送开舱指令，请取出包裹后点“交接入库”",
        "The compartments were told to open; take the parcels out, then hand over",
    ),
    (
        "terminal.vehicle_handed",
        "已入库 {n} 件；留在车上 {kept} 件",
        "{n} parcels on the shelves; {kept} stay aboard",
    ),
    (
        "terminal.vehicle_collection_open",
        "车上取件已开放：{n} 件，已通知收件人",
        "Open for collection: {n} parcels, recipients told",
    ),
    (
        "terminal.vehicle_collect",
        "在车上取件：输入取件码和手机尾号，对应格口会打开",
        "Collect from the vehicle: enter your code and phone tail and your compartment opens",
    ),
    (
        "terminal.vehicle_collect_go",
        "打开格口",
        "Open my compartment",
    ),
    (
        "terminal.vehicle_take",
        "请从 {vehicle} 的 {compartment} 号格口取件（运单尾号 {tail}）",
        "Take your parcel from compartment {compartment} of {vehicle} (waybill ending {tail})",
    ),
    ("terminal.ended", "本次取件已结束", "This pickup has ended"),
    (
        "terminal.expired",
        "长时间无操作，本次取件已结束",
        "No activity for a while; this pickup has ended",
    ),
    (
        "terminal.seconds_left",
        "秒后自动结束",
        "s until this pickup ends",
    ),
    (
        "terminal.unpaired",
        "本设备尚未设为自助终端。请驿站管理员登录管理台，在“自助终端”页配对。",
        "This device is not a terminal yet. The keeper pairs it from the console's Terminal page.",
    ),
    ("qr.title", "取件二维码", "Pickup QR code"),
    (
        "qr.hint",
        "在驿站自助终端扫描此二维码即可开门取件",
        "Show this at the station's terminal to open the door",
    ),
    (
        "qr.invalid",
        "二维码无效或已过期，请使用短信中的取件码",
        "This QR code is invalid or expired; use the code in your message",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique_and_translated() {
        let mut keys: Vec<&str> = all().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate keys");
        for (key, zh, en) in all() {
            assert!(!zh.is_empty() && !en.is_empty(), "{key}");
        }
    }

    #[test]
    fn every_key_the_pages_use_exists() {
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates"
        ))];
        let mut used = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(path).unwrap();
                let mut rest = text.as_str();
                while let Some(i) = rest.find("t.get(\"") {
                    let after = &rest[i + 7..];
                    let end = after.find('"').unwrap();
                    used.push(after[..end].to_string());
                    rest = &after[end..];
                }
            }
        }
        assert!(used.len() > 20, "templates use t.get");
        for key in used {
            assert!(
                all().any(|(k, _, _)| *k == key),
                "the templates use {key:?}, which has no translation"
            );
        }
    }
}
