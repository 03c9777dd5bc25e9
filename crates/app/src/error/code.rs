//! The table of error codes: each code's stable name, HTTP status, kind and
//! Chinese and English templates, declared one entry each so nothing can
//! fall out of `Code::ALL`.

use super::Lang;
use std::fmt;

/// The broad class of an error, as the API's `type` field names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    Auth,
    NotFound,
    Conflict,
    RateLimit,
    Internal,
}

impl ErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Auth => "auth",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::RateLimit => "rate_limit",
            ErrorKind::Internal => "internal",
        }
    }
}

/// Declares the codes, one line each, so a code's name, status, kind and
/// both templates sit together and `Code::ALL` cannot miss one.
macro_rules! codes {
    ($($variant:ident = $name:literal, $status:literal, $kind:ident, $zh:literal, $en:literal;)+) => {
        /// A stable error code: its name never changes once published.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)+
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)+];

            /// The snake_case name the API sends.
            pub fn name(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)+
                }
            }

            /// The HTTP status, as a plain number so `app` stays free of
            /// HTTP crates.
            pub fn status(self) -> u16 {
                match self {
                    $(Code::$variant => $status,)+
                }
            }

            pub fn kind(self) -> ErrorKind {
                match self {
                    $(Code::$variant => ErrorKind::$kind,)+
                }
            }

            /// The message template in `lang`, with `{name}` placeholders.
            pub fn template(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Code::$variant, Lang::Zh) => $zh,
                    (Code::$variant, Lang::En) => $en,)+
                }
            }
        }
    };
}

codes! {
    // The caller's request as a whole.
    BodyMalformed = "body_malformed", 400, InvalidRequest,
        "请求体不是有效的 JSON",
        "the body is not valid JSON: {detail}";
    BodyInvalid = "body_invalid", 422, InvalidRequest,
        "请求体的字段 {field} 有误或缺失，请对照接口文档（GET /api/openapi.json）",
        "field {field}: {detail}";
    BodyTooLarge = "body_too_large", 413, InvalidRequest,
        "请求体超过 {max} 字节",
        "request body is larger than {max} bytes";
    RequestTimeout = "request_timeout", 408, InvalidRequest,
        "请求在 {seconds} 秒内没有完成，请稍后重试；批量导入请分成较小的批次",
        "the request did not finish within {seconds} seconds; try again later, and split a large import into smaller batches";
    ContentTypeInvalid = "content_type_invalid", 415, InvalidRequest,
        "请求体须为 JSON（Content-Type: application/json）",
        "send the body as JSON (Content-Type: application/json)";
    QueryInvalid = "query_invalid", 400, InvalidRequest,
        "查询参数有误",
        "{detail}";
    QueryParamInvalid = "query_param_invalid", 400, InvalidRequest,
        "查询参数 {field} 有误，请对照接口文档（GET /api/openapi.json）",
        "query parameter {field}: {detail}";
    PathInvalid = "path_invalid", 400, InvalidRequest,
        "网址中的参数有误",
        "{detail}";
    RouteNotFound = "route_not_found", 404, NotFound,
        "没有这个接口；接口列表见 GET /api/openapi.json",
        "no such route; see GET /api/openapi.json";
    MethodNotAllowed = "method_not_allowed", 405, InvalidRequest,
        "这个接口不接受这种请求方法；见 GET /api/openapi.json",
        "this route does not take that method; see GET /api/openapi.json";
    TokenMissing = "token_missing", 401, Auth,
        "请在 Authorization: Bearer 头中发送 API 令牌；令牌由 POST /api/login 取得",
        "send an API token as 'Authorization: Bearer <token>'; get one from POST /api/login";
    CsrfInvalid = "csrf_invalid", 403, Auth,
        "表单已过期或来自其他网站，请刷新页面后重试",
        "the form has expired or came from another site; reload the page and try again";
    FieldTooLong = "field_too_long", 413, InvalidRequest,
        "每一栏最多 {max} 个字符",
        "a field holds at most {max} characters";
    ChoiceMissing = "choice_missing", 422, InvalidRequest,
        "请选择{what}",
        "choose {what}";
    ConsoleForbidden = "console_forbidden", 403, Auth,
        "管理台仅供驿站管理员和县中心人员使用",
        "the console is for station keepers and county staff";

    // Who may do what.
    Unauthenticated = "unauthenticated", 401, Auth,
        "未登录，或登录已过期",
        "not signed in, or the token has expired";
    Forbidden = "forbidden", 403, Auth,
        "您无权操作此{what}",
        "you may not act on this {what}";
    NotFound = "not_found", 404, NotFound,
        "没有找到{what}",
        "{what} not found";
    RateLimited = "rate_limited", 429, RateLimit,
        "{what}次数过多，请于 {until} 后再试",
        "too many {what}; try again after {until}";
    Internal = "internal", 500, Internal,
        "内部错误",
        "internal error";
    Contended = "contended", 409, Conflict,
        "有人同时修改了同一对象，请重试",
        "changed by someone else at the same moment ({detail}); try again";

    // Parsed values.
    WaybillInvalid = "waybill_invalid", 422, InvalidRequest,
        "运单号格式不正确：只能有字母、数字和“-”，且不能为空或过长",
        "{detail}";
    CarrierUnknown = "carrier_unknown", 400, InvalidRequest,
        "未知的快递公司",
        "{detail}";
    PhoneInvalid = "phone_invalid", 400, InvalidRequest,
        "手机号不正确：须为 11 位大陆手机号（可带 +86）",
        "phone: {detail}";
    PhoneTailInvalid = "phone_tail_invalid", 422, InvalidRequest,
        "手机尾号须为 4 位数字",
        "phone tail must be exactly the last 4 digits";
    SizeInvalid = "size_invalid", 422, InvalidRequest,
        "未知的尺寸 {size}",
        "unknown size {size}";
    TextInvalid = "text_invalid", 422, InvalidRequest,
        "{field}不能为空，最多 {max} 个字符，且不能含控制字符",
        "{field} must not be empty and may hold at most {max} characters, none of them control characters";
    AddressInvalid = "address_invalid", 422, InvalidRequest,
        "地址无法解析",
        "{detail}";
    PageSize = "page_size", 422, InvalidRequest,
        "每页条数须为 1 至 {max}",
        "page size must be 1 to {max}";
    StationRequired = "station_required", 422, InvalidRequest,
        "请指定驿站：驿站管理员查询时须带 station_id",
        "name a station: station_id is required for station keepers";

    // Station inbound and the shelves.
    BatchSize = "batch_size", 422, InvalidRequest,
        "一批须有 1 至 {max} 件包裹，这一批有 {n} 件",
        "a batch holds 1 to {max} parcels; this one has {n}";
    AddressedElsewhere = "addressed_elsewhere", 409, Conflict,
        "运单 {waybill} 的包裹应送往其他驿站；如确属错分，请县中心登记改派后再扫描入库",
        "the parcel of waybill {waybill} is addressed to another station; if it was misrouted, ask the county centre to record the misroute, then scan it in again";
    MisrouteFinished = "misroute_finished", 409, Conflict,
        "包裹已取件或已退回，无需改派",
        "the parcel was already picked up or returned; there is nothing to redirect";
    StationFull = "station_full", 409, Conflict,
        "驿站已没有能放{size}的空格口",
        "the station has no free slot for a {size} parcel";
    SlotWrongSize = "slot_wrong_size", 422, InvalidRequest,
        "{size}包裹放不进{slot_size}格口",
        "a {size} parcel does not fit a {slot_size} slot";
    AlreadyInSlot = "already_in_slot", 422, InvalidRequest,
        "包裹已经在这个格口里",
        "the parcel is already in that slot";
    SlotFull = "slot_full", 409, Conflict,
        "格口 {slot} 已满",
        "slot {slot} is full";
    NoStationForParcel = "no_station_for_parcel", 409, Conflict,
        "包裹不在任何驿站",
        "the parcel is at no station";
    NoSlotForParcel = "no_slot_for_parcel", 409, Conflict,
        "包裹没有格口",
        "the parcel has no slot";
    CodesExhausted = "codes_exhausted", 409, Conflict,
        "本站这种格式的取件码已几乎全部占用，请加长随机位数",
        "nearly every pickup code of this station's format is in use; widen its random part";
    ConflictState = "conflict_state", 409, Conflict,
        "包裹当前为“{from}”，不能{action}",
        "a parcel that is {from} cannot be {action}";
    CentreActionInvalid = "centre_action_invalid", 422, InvalidRequest,
        "县中心只能做到站、分拣和发运扫描",
        "the centre scans arrival, sorting and dispatch only";
    CentreActionUnknown = "centre_action_unknown", 400, InvalidRequest,
        "未知的县中心操作 {action}；可用 arrive、sort 或 dispatch",
        "unknown centre action {action}; use arrive, sort or dispatch";

    // Pickup.
    PickupProofMismatch = "pickup_proof_mismatch", 422, InvalidRequest,
        "取件码和手机尾号与这件包裹不符",
        "the pickup code and phone tail do not match this parcel";
    PickupEntryInvalid = "pickup_entry_invalid", 422, InvalidRequest,
        "请输入短信中的取件码和手机号后 4 位",
        "{detail}";
    PickupCodeWrong = "pickup_code_wrong", 404, NotFound,
        "取件码或手机尾号不正确，请核对短信",
        "That code and phone tail do not match a parcel here; check your message";
    ColoursExhausted = "colours_exhausted", 409, Conflict,
        "取件人较多，灯光颜色已全部占用，请稍等片刻",
        "every light colour is in use by other customers; please wait a moment";

    // Users.
    PasswordInvalid = "password_invalid", 422, InvalidRequest,
        "密码须为 8 至 128 个字符",
        "a password needs 8 to 128 characters";
    PasswordWrong = "password_wrong", 422, InvalidRequest,
        "当前密码不对，请重新输入",
        "the current password is not right; type it again";
    PasswordUnchanged = "password_unchanged", 422, InvalidRequest,
        "新密码不能与当前密码相同",
        "the new password must differ from the current one";
    UsernameInvalid = "username_invalid", 422, InvalidRequest,
        "用户名只能包含字母、数字和 _ - .",
        "a username may hold letters, digits, '_', '-' and '.'";
    UserNeedsCarrier = "user_needs_carrier", 422, InvalidRequest,
        "快递公司对接账号须绑定一家快递公司",
        "a carrier integrator must be bound to a carrier";
    UserNeedsStation = "user_needs_station", 422, InvalidRequest,
        "驿站管理员或终端须绑定至少一个驿站",
        "a station keeper or terminal must be bound to at least one station";
    AccountDisabled = "account_disabled", 403, Auth,
        "该账号已停用，请联系管理员",
        "this account is disabled; ask an administrator";
    CannotDisableSelf = "cannot_disable_self", 409, Conflict,
        "不能停用自己的账号，请让另一位管理员操作",
        "you cannot disable your own account; ask another administrator";
    UsernameTaken = "username_taken", 409, Conflict,
        "用户名 {username} 已被人员使用，请先给该用户改名",
        "the username {username} is taken by a person; rename that user first";

    // Manifests.
    ManifestSize = "manifest_size", 422, InvalidRequest,
        "一次预报最多 {max} 行，请拆分",
        "a manifest request holds at most {max} rows; split it";
    ManifestCarrierMismatch = "manifest_carrier_mismatch", 422, InvalidRequest,
        "{carrier}的预报中有{other}的包裹",
        "a parcel of {other} in a manifest of {carrier}";

    // The county centre.
    AgreementInvalid = "agreement_invalid", 422, InvalidRequest,
        "协议条款有误：请检查乡镇（不可重复）、模式和重量计费档",
        "{detail}";
    PeriodInvalid = "period_invalid", 422, InvalidRequest,
        "生效期有误：结束日期须晚于开始日期",
        "{detail}";
    RouteNameTaken = "route_name_taken", 409, Conflict,
        "已有名为 {name} 的路线，请换一个名称",
        "a route named {name} exists already; choose another name";
    RouteTownships = "route_townships", 422, InvalidRequest,
        "一条路线须覆盖 1 至 {max} 个乡镇",
        "a route covers 1 to {max} townships";
    TownshipInvalid = "township_invalid", 422, InvalidRequest,
        "乡镇区划代码须为 9 位数字（如 510182103）",
        "{detail}";
    DivisionInvalid = "division_invalid", 422, InvalidRequest,
        "区划代码 {division} 须为 9 位乡镇代码或 12 位村级代码",
        "division {division} must be a 9-digit township or a 12-digit village code";
    StillUnroutable = "still_unroutable", 422, InvalidRequest,
        "{division} 仍无法分拣：{reason}",
        "{division} still cannot be routed: {reason}";
    NotInManualQueue = "not_in_manual_queue", 409, Conflict,
        "包裹不在人工处理队列中",
        "the parcel is not waiting in the manual queue";
    BagNotDispatched = "bag_not_dispatched", 409, Conflict,
        "袋子还没有从县中心发出，请先发运",
        "the bag has not left the centre yet; dispatch it first";
    BagLabelInvalid = "bag_label_invalid", 400, InvalidRequest,
        "袋标签无法识别",
        "{detail}";
    DateOutOfRange = "date_out_of_range", 422, InvalidRequest,
        "日期 {date} 超出范围：年份须在 {min} 至 {max} 之间",
        "date {date} is out of range: use a year from {min} to {max}";
    DateRange = "date_range", 422, InvalidRequest,
        "日期范围的结束日（{to}）早于开始日（{from}）",
        "the range ends ({to}) before it starts ({from})";
    DateRangeTooLong = "date_range_too_long", 422, InvalidRequest,
        "日期范围最多 {max} 天",
        "a range covers at most {max} days";
    WeightInvalid = "weight_invalid", 422, InvalidRequest,
        "重量 {grams} 克不在 1 至 {max} 克之间",
        "weight {grams} g is outside 1..={max} g";

    // Dispatch planning.
    DispatchRequestInvalid = "dispatch_request_invalid", 422, InvalidRequest,
        "中心点须为有效坐标，迭代次数须为 1 至 {max}",
        "the centre must be a valid point and iterations 1 to {max}";
    FleetInvalid = "fleet_invalid", 422, InvalidRequest,
        "车队须有 0 至 200 辆货车和 0 至 200 辆无人车（至少 1 辆车），每车最多 64 个格口",
        "a fleet has 0 to 200 vans and 0 to 200 unmanned vehicles, at least one vehicle in all, with at most 64 compartments";
    DispatchTooManyParcels = "dispatch_too_many_parcels", 422, InvalidRequest,
        "待发运包裹超过 {max} 件，请按乡镇分别规划",
        "more than {max} parcels wait; plan by township";
    DispatchTooManyStations = "dispatch_too_many_stations", 422, InvalidRequest,
        "待发运包裹涉及超过 {max} 个驿站，请按乡镇分别规划",
        "parcels wait for more than {max} stations; plan by township";
    FleetUnplannable = "fleet_unplannable", 422, InvalidRequest,
        "这支车队无法完成规划，请检查车辆和容量",
        "the fleet cannot be planned: {detail}";
    DispatchRunning = "dispatch_running", 409, Conflict,
        "正在生成另一份派送计划，请稍后再试",
        "a dispatch plan is already being made; try again in a moment";

    // Devices.
    CommandIdInvalid = "command_id_invalid", 422, InvalidRequest,
        "设备指令编号须为 1 至 {max} 个字符",
        "a command id has 1 to {max} characters";
    CommandExpired = "command_expired", 422, InvalidRequest,
        "设备指令的截止时间须在将来",
        "a device command's not-after time must be in the future";
    DeviceOperationInvalid = "device_operation_invalid", 422, InvalidRequest,
        "设备操作须为带 \"op\" 字段的 JSON 对象",
        "a device operation is a JSON object with an \"op\" field";

    // Device registry and door outcomes (devcore, issue 19).
    DeviceKindInvalid = "device_kind_invalid", 422, InvalidRequest,
        "设备类型须为 door（门禁）、lights（灯带）或 scanner（扫码枪）",
        "a device kind is door, lights or scanner";
    DeviceIdInvalid = "device_id_invalid", 422, InvalidRequest,
        "设备编号须为 1 至 {max} 个小写字母、数字或连字符",
        "a device id has 1 to {max} lowercase letters, digits or dashes";
    DeviceExists = "device_exists", 409, Conflict,
        "本站已有在用的{kind}设备“{device}”；要换新设备请用“更换”",
        "station already has an active {kind} device \"{device}\"; use replace to swap it";
    DeviceRetired = "device_retired", 409, Conflict,
        "设备“{device}”已停用，不能再更换；请更换在用的设备",
        "device \"{device}\" is already retired; replace the active device instead";
    ContactPhoneInvalid = "contact_phone_invalid", 422, InvalidRequest,
        "驿站联系电话须为 5 至 20 位数字，可含 +、- 和空格",
        "a station's contact phone has 5 to 20 digits, with + - and spaces allowed";

    // Webhooks.
    WebhookUrlInvalid = "webhook_url_invalid", 422, InvalidRequest,
        "回调地址须为 https:// 开头、带主机名且不含空格的网址",
        "{detail}";
    WebhookEventsInvalid = "webhook_events_invalid", 422, InvalidRequest,
        "回调事件名有误（未知、重复或过多）",
        "{detail}";
    WebhookLimit = "webhook_limit", 422, InvalidRequest,
        "每家快递公司最多 {max} 个回调订阅，请修改或删除已有的订阅（PUT 或 DELETE /api/webhooks/<id>）",
        "a carrier has at most {max} webhook subscriptions; change or delete one (PUT or DELETE /api/webhooks/<id>)";
    WebhookUrlPrivate = "webhook_url_private", 422, InvalidRequest,
        "回调地址 {host} 是内部或私有网络地址（本机、内网、链路本地、组播等），已拒绝；请使用公网 HTTPS 地址，内网网关须由管理员加入 webhooks.allow 白名单",
        "the webhook host {host} is an internal or private address (loopback, private network, link-local, multicast…) and is refused; use a public HTTPS address, or ask the administrator to add an on-premises gateway to webhooks.allow";
    WebhookHttpsRequired = "webhook_https_required", 422, InvalidRequest,
        "回调地址须使用 https://（明文 http 仅用于演示）",
        "a webhook URL must use https:// (plain http is for the demo only)";
    WebhookOverlapInvalid = "webhook_overlap_invalid", 422, InvalidRequest,
        "新旧密钥并行有效的时长（overlap_hours）须为 0 至 {max} 小时",
        "overlap_hours (how long the old secret keeps signing) must be 0 to {max}";
    // Audit trail, roles of the three lines, compliance (issue 12, points 4-6).
    AuditActUnknown = "audit_act_unknown", 400, InvalidRequest,
        "未知的审计事项 {act}，请从审计记录页的列表中选择",
        "unknown audit act {act}; pick one from the list on the audit trail page";
    AuditPersonalData = "audit_personal_data", 422, InvalidRequest,
        "这项操作会把完整手机号写进不可修改的审计记录，已拒绝；用户名等字段请不要使用手机号",
        "this act would write a whole phone number into the audit trail, which can never be edited; do not use a phone number as a username or similar field";
    FindingAssigneeUnknown = "finding_assignee_unknown", 422, InvalidRequest,
        "没有用户名为 {username} 的用户，请检查后重新指派",
        "there is no user {username}; check the name and assign again";
    FindingClosed = "finding_closed", 409, Conflict,
        "这个问题已整改关闭；如再次发生，下次检查会新建一条",
        "this finding is fixed and closed; if the breach happens again the next run opens a new one";
    // Maker–checker (issue 12, point 5; branch main/approvals).
    ApprovalRequired = "approval_required", 403, Auth,
        "这项操作需要第二人审批：已提交审批申请 #{id}，请县级中心人员或管理员在「审批」页批准后再试",
        "this act needs a second person's approval: request #{id} is filed; ask county staff or the administrator to approve it on the Approvals page, then try again";
    ApprovalOwnRequest = "approval_own_request", 403, Auth,
        "不能审批自己提交的申请，请由另一位县级中心人员或管理员审批",
        "you cannot decide your own request; another county staff member or the administrator must";
    ApprovalNotPending = "approval_not_pending", 409, Conflict,
        "审批申请 #{id} 已{state}，不能再处理",
        "approval request #{id} is already {state} and cannot be decided";
    ApprovalNoteRequired = "approval_note_required", 422, InvalidRequest,
        "拒绝审批时请写明理由（最多 {max} 个字）",
        "say why when refusing (at most {max} characters)";
    // Branch centre-ops (issue 13): the centre console's bags and manual queue.
    BagAlreadyHandedOver = "bag_already_handed_over", 409, Conflict,
        "袋子 {bag} 已交接，不能再封袋",
        "bag {bag} has already been handed over; it cannot be closed again";
    NoParcelChosen = "no_parcel_chosen", 422, InvalidRequest,
        "请至少勾选一个包裹，再选择去向",
        "tick at least one parcel, then choose where it goes";
    ResolveTooMany = "resolve_too_many", 422, InvalidRequest,
        "一次最多处理 {max} 个包裹，请分批处理",
        "at most {max} parcels at once; resolve them in batches";
    DayInvalid = "day_invalid", 422, InvalidRequest,
        "日期 {day} 无法识别，请写成 2026-12-07 这样的格式",
        "{day} is not a date; write it like 2026-12-07";
    // The county centre's office pages: agreements, dispatch and sort plans (branch centre-office, issue 13).
    AgreementFormTownship = "agreement_form_township", 422, InvalidRequest,
        "乡镇第 {line} 行有误：每行写 9 位乡镇代码和模式（joint 共配、contractor 承包、station 驿站），例如 510182103 joint",
        "townships, line {line}: give a 9-digit township code and a mode (joint, contractor or station) on each line, e.g. 510182103 joint";
    AgreementFormBrackets = "agreement_form_brackets", 422, InvalidRequest,
        "{mode}的计费档有误：写成“上限克数:分”，用逗号分隔，最后一档只写分，例如 1000:50, 5000:80, 150",
        "the {mode} fee brackets must read “up-to grams:fen” separated by commas, the last with fen only, e.g. 1000:50, 5000:80, 150";
    AgreementFormFromMissing = "agreement_form_from_missing", 422, InvalidRequest,
        "请填写新版本的生效日期",
        "give the day the new version takes effect";
    FormDateInvalid = "form_date_invalid", 422, InvalidRequest,
        "日期“{value}”有误，请按 年-月-日 填写，例如 2026-12-01",
        "“{value}” is not a date; write year-month-day, e.g. 2026-12-01";
    DispatchFormNumber = "dispatch_form_number", 422, InvalidRequest,
        "{field}须为不小于 0 的整数",
        "{field} must be a whole number, 0 or more";
    DispatchFormCentre = "dispatch_form_centre", 422, InvalidRequest,
        "县中心坐标须为数字（十进制度数），例如纬度 30.99、经度 103.94",
        "the centre's coordinates must be decimal degrees, e.g. latitude 30.99 and longitude 103.94";
    DispatchStartInvalid = "dispatch_start_invalid", 422, InvalidRequest,
        "最早发车时间须写成 时:分，且在 {earliest} 至 {latest} 之间",
        "the earliest departure must read hours:minutes, from {earliest} to {latest}";
    SortLayoutMissing = "sort_layout_missing", 422, InvalidRequest,
        "请选择或粘贴布局文件，或改为按种子生成",
        "choose or paste a layout file, or generate one from a seed";
    SortLayoutTooLarge = "sort_layout_too_large", 413, InvalidRequest,
        "布局文件过大，最多 {max_kb} KB",
        "the layout is too large; at most {max_kb} KB";
    SortLayoutInvalid = "sort_layout_invalid", 422, InvalidRequest,
        "布局文件有误：请对照格式说明（crates/sort/FORMAT.md）检查字段名、数值和格口、路向的编号；未知字段会被拒绝",
        "{detail}";
    SortSeedInvalid = "sort_seed_invalid", 422, InvalidRequest,
        "种子须为 0 至 {max} 的整数",
        "a seed is a whole number from 0 to {max}";
    // Branch `station`: the keeper's console without dead ends (issue 13).
    ContactRequired = "contact_required", 422, InvalidRequest,
        "这个包裹还没有收件人手机号：请先补填手机号，再记录收件人同意",
        "this parcel has no recipient's phone yet: add the phone first, then record the recipient's consent";
    ContactPresent = "contact_present", 409, Conflict,
        "这个包裹已有收件人手机号，无需补填",
        "this parcel already has the recipient's phone; there is nothing to add";
    ConsentNotAwaited = "consent_not_awaited", 409, Conflict,
        "这个包裹不在等待收件人同意（可能已入库、已取件或已退回），请刷新页面",
        "this parcel is not waiting for the recipient's consent (it may be stored, picked up or returned already); reload the page";
    ConsentTimeInFuture = "consent_time_in_future", 422, InvalidRequest,
        "收件人答复的时间 {at} 晚于现在，请填写实际答复的时间",
        "the time the recipient answered, {at}, is later than now; enter when they actually answered";
    NotAProblem = "not_a_problem", 409, Conflict,
        "这个包裹不是问题件（可能已处理），请刷新页面",
        "this parcel is not a problem parcel (it may have been dealt with already); reload the page";
    ExportTooLarge = "export_too_large", 422, InvalidRequest,
        "一次最多导出 {max} 条，请缩小范围后再导出",
        "at most {max} rows can be exported at once; narrow the list and export again";

    // Branch `carrier`: the carrier portal (issue 13).
    ManifestFileMissing = "manifest_file_missing", 422, InvalidRequest,
        "请选择要上传的预报文件（CSV 或 .xlsx）",
        "choose the manifest file to upload (CSV or .xlsx)";
    ManifestFileUnreadable = "manifest_file_unreadable", 422, InvalidRequest,
        "无法读取这个文件：请上传 CSV 或 .xlsx（.xls、.ods 请另存为 .xlsx），第一行为列名且含 waybill",
        "the file cannot be read ({detail}); upload CSV or .xlsx (save .xls or .ods as .xlsx) whose first row names the columns, including waybill";
    TokenNameMissing = "token_name_missing", 422, InvalidRequest,
        "请给令牌起个名字（例如使用它的系统），以便日后识别和吊销",
        "give the token a name (the system that uses it, say) so you can tell it apart and revoke it later";
    TokenLimit = "token_limit", 409, Conflict,
        "每家快递公司最多 {max} 个有效的 API 令牌；请先吊销不用的令牌",
        "a carrier holds at most {max} live API tokens; revoke one you no longer use first";
    // branch api (issue 13, item 4): idempotency keys, announcement
    // corrections and cancellations, contractors' delivery reports.
    IdempotencyKeyInvalid = "idempotency_key_invalid", 400, InvalidRequest,
        "Idempotency-Key 须为 1 至 {max} 个可见 ASCII 字符（例如一个 UUID）",
        "the Idempotency-Key header must be 1 to {max} visible ASCII characters (a UUID, say)";
    IdempotencyKeyReused = "idempotency_key_reused", 409, Conflict,
        "这个 Idempotency-Key 已用于另一个请求（方法、路径或请求体不同）；新的请求请使用新的键",
        "this Idempotency-Key was used for another request (method, path or body differ); use a new key for a new request";
    IdempotencyKeyInProgress = "idempotency_key_in_progress", 409, Conflict,
        "使用这个 Idempotency-Key 的请求仍在处理中，请稍后再发送",
        "the request with this Idempotency-Key is still being handled; send it again in a moment";
    AnnouncementInvalid = "announcement_invalid", 422, InvalidRequest,
        "预报数据有误，请对照接口文档（/api/docs）修改后重新提交",
        "the announcement is not valid: {detail}";
    AnnouncementSettled = "announcement_settled", 409, Conflict,
        "包裹已是「{state}」状态；只有尚未到达的预报包裹才能修改或取消，其他情况请联系县共配中心",
        "the parcel is already {state}; only a parcel still announced (not yet seen) can be corrected or cancelled; otherwise ask the county centre";
    NotWithContractor = "not_with_contractor", 409, Conflict,
        "这个包裹没有交给该承包人配送（或尚未发运），不能由其报告妥投",
        "this parcel was not handed to this contractor (or not yet dispatched), so the contractor cannot report it delivered";
    // branch sending (issue 14): senders' codes and real-name check,
    // inspection, the tariff's quote, orders, payments and waybill pools.
    SendPhoneInvalid = "send_phone_invalid", 422, InvalidRequest,
        "请填写 11 位中国大陆手机号",
        "give an 11-digit mainland mobile number";
    SendCodeLimit = "send_code_limit", 429, RateLimit,
        "同一手机号每小时最多发送 {max} 次验证码，请稍后再试",
        "at most {max} codes an hour go to one phone; try again later";
    SendCodeWrong = "send_code_wrong", 422, InvalidRequest,
        "验证码不正确或已过期，请重新获取",
        "the code is wrong or has expired; ask for a new one";
    SendSessionInvalid = "send_session_invalid", 401, Auth,
        "请先用手机号和验证码登录寄件",
        "sign in to sending with your phone and a code first";
    DocumentInvalid = "document_invalid", 422, InvalidRequest,
        "证件号码有误，请核对后重新填写",
        "the document number is not valid: {detail}";
    SendRealNameRequired = "send_real_name_required", 409, Conflict,
        "首次寄件须实名登记：请填写姓名和证件号码",
        "the first send needs the real-name check: give your name and a document number";
    SendCategoryUnknown = "send_category_unknown", 422, InvalidRequest,
        "请从物品类别列表中选择（{category} 不在列表中）",
        "choose the contents from the category list ({category} is not on it)";
    SendProhibited = "send_prohibited", 422, InvalidRequest,
        "「{category}」不能寄递：{rule}",
        "{category} cannot be sent: {rule}";
    SendEvidenceNeeded = "send_evidence_needed", 422, InvalidRequest,
        "「{category}」可以寄递，但须满足：{need}",
        "{category} can be sent, but {need}";
    SendTariffMissing = "send_tariff_missing", 409, Conflict,
        "{day} 没有生效的寄件资费，请联系县级中心",
        "no sending tariff is in effect on {day}; ask the county centre";
    SendDivisionInvalid = "send_division_invalid", 422, InvalidRequest,
        "地址须确认到县（区）一级或更细（{code} 不是有效的行政区划代码）",
        "the address must be confirmed to a county or below ({code} is not a valid division code)";
    SendWeightInvalid = "send_weight_invalid", 422, InvalidRequest,
        "重量须在 1 克至 {max} 克之间",
        "the weight must be 1 to {max} grams";
    SendSizeInvalid = "send_size_invalid", 422, InvalidRequest,
        "长、宽、高每边须在 1 至 {max} 厘米之间",
        "each side must be 1 to {max} cm";
    SendOrderIncomplete = "send_order_incomplete", 409, Conflict,
        "请先完成物品验视、重量和报价",
        "finish the inspection, weight and quote first";
    SendOrderState = "send_order_state", 409, Conflict,
        "订单当前为「{state}」，不能{action}",
        "the order is {state} and cannot {action}";
    SendReturnCodeInvalid = "send_return_code_invalid", 422, InvalidRequest,
        "退货码须为 6 至 32 位字母、数字或连字符",
        "a return code is 6 to 32 letters, digits and hyphens";
    SendPaymentUnavailable = "send_payment_unavailable", 503, Internal,
        "支付暂不可用，请稍后再试",
        "payment is unavailable for now ({detail}); try again shortly";
    SendPaymentSignature = "send_payment_signature", 401, Auth,
        "支付回调签名无效",
        "the payment callback's signature is not valid: {detail}";
    SendPoolEmpty = "send_pool_empty", 409, Conflict,
        "{carrier} 运单号已用完，请联系县级中心上传新号段",
        "{carrier} has no waybill numbers left; ask the county centre to upload a new range";
    SendRangeInvalid = "send_range_invalid", 422, InvalidRequest,
        "号段有误：前缀最多 8 位字母数字，起止号码须有效且每段最多一千万个",
        "the range is not valid: {detail}";
    SendRangeOverlaps = "send_range_overlaps", 409, Conflict,
        "该号段与已上传的号段重叠",
        "this range overlaps one already uploaded";
    // branch board
    BotNameInvalid = "bot_name_invalid", 422, InvalidRequest,
        "群机器人名称须为 1 至 32 个小写字母、数字、- 或 _，并在 yizhan.toml 的 [bots.名称] 中配置",
        "{detail}";
    EconomicsParameterInvalid = "economics_parameter_invalid", 422, InvalidRequest,
        "参数 {name} 须为 {min} 至 {max} 之间的数",
        "{name} must be a number from {min} to {max}";
    // branch money (issue 15): the ledger, statements, receivables, arrears,
    // receipts, claims and write-offs.
    TransferInvalid = "transfer_invalid", 422, InvalidRequest,
        "这笔转账不符合记账规则：{rule}",
        "the transfer breaks the ledger's rules: {rule}";
    TransferIdReused = "transfer_id_reused", 409, Conflict,
        "转账编号 {id} 已用于另一笔内容不同的转账；新的转账请使用新的编号",
        "the transfer id {id} was used for another transfer with different content; use a new id for a new transfer";
    StatementMonthOpen = "statement_month_open", 409, Conflict,
        "{month} 月尚未结束，月末之后才能开具对账单",
        "the month {month} is not over yet; its statement can be issued after its last day";
    StatementExists = "statement_exists", 409, Conflict,
        "{carrier} 的 {month} 对账单已开具，请在对账单列表中查看",
        "the {month} statement of {carrier} has been issued already; open it from the list of statements";
    StatementEmpty = "statement_empty", 422, InvalidRequest,
        "{carrier} 在 {month} 没有未对账的派费，无需开具对账单",
        "{carrier} has no fees in {month} that are not on a statement yet; there is nothing to state";
    PaymentDaysInvalid = "payment_days_invalid", 422, InvalidRequest,
        "付款期限须为 0 至 {max} 天",
        "the payment terms must be 0 to {max} days";
    MonthInvalid = "month_invalid", 422, InvalidRequest,
        "月份格式应为 2026-11 这样的 年-月",
        "write the month as year-month, such as 2026-11";
    ReasonMissing = "reason_missing", 422, InvalidRequest,
        "请写明理由（1 至 {max} 个字）",
        "give the reason (1 to {max} characters)";
    LineAnswered = "line_answered", 409, Conflict,
        "运单 {waybill} 这一行已确认或已提出异议，不能再次答复",
        "the line of waybill {waybill} has been confirmed or disputed already and cannot be answered again";
    LineNotDisputed = "line_not_disputed", 409, Conflict,
        "运单 {waybill} 这一行没有待处理的异议",
        "the line of waybill {waybill} has no dispute waiting to be resolved";
    AdjustmentInvalid = "adjustment_invalid", 422, InvalidRequest,
        "调整后的金额须大于零且小于原金额 {amount}；全额退回请选择冲销",
        "the adjusted amount must be more than zero and less than the line's {amount}; to take all of it back, reverse the line";
    ResponsibleInvalid = "responsible_invalid", 422, InvalidRequest,
        "收缴负责人 {username} 须为在用的县中心员工或管理员账号；填写电话时须同时填写负责人",
        "the person responsible, {username}, must be an enabled county staff or administrator account; a phone needs a responsible person";
    ResponsiblePhoneInvalid = "responsible_phone_invalid", 422, InvalidRequest,
        "负责人电话须为 11 位手机号",
        "the responsible person's phone must be an 11-digit mobile number";
    ContactInvalid = "contact_invalid", 422, InvalidRequest,
        "催收记录有误：联系对象 1 至 50 字，沟通内容 1 至 500 字；承诺付款须同时填写金额（大于 0，不超过 1000 万元）和日期（今天起一年内）",
        "the contact is not valid: {detail}";
    BankFileUnreadable = "bank_file_unreadable", 422, InvalidRequest,
        "无法读取银行流水：请上传网银导出的 CSV 或 .xlsx 文件，表头须含交易日期、贷方金额（或金额）和对方户名",
        "the bank statement cannot be read: {detail}";
    // branch vehicles (issue 20): the fleet, missions and the safe-driving
    // system's incidents.
    VehicleInvalid = "vehicle_invalid", 422, InvalidRequest,
        "车辆信息有误，请检查编号（小写字母、数字和 -）、格口、电池、能耗、限速和停车场位置",
        "the vehicle is not valid: {detail}";
    VehicleCodeTaken = "vehicle_code_taken", 409, Conflict,
        "这个车辆编号已被使用，请换一个",
        "this vehicle code is already in use; choose another";
    ZoneInvalid = "zone_invalid", 422, InvalidRequest,
        "区域有误，请检查名称、边界（至少 3 个顶点）、限速和时段",
        "the zone is not valid: {detail}";
    VehicleUnavailable = "vehicle_unavailable", 409, Conflict,
        "车辆 {vehicle} 当前不可派（状态：{status}）",
        "vehicle {vehicle} cannot be sent now (status: {status})";
    MissionInvalid = "mission_invalid", 422, InvalidRequest,
        "任务有误：每个任务 1 至 100 个站点，最多 2000 件包裹，站点须有位置",
        "the mission is not valid: {detail}";
    StationNotCleared = "station_not_cleared", 409, Conflict,
        "车辆 {vehicle} 未获准驶往 {station}",
        "vehicle {vehicle} is not cleared to serve {station}";
    ParcelNotForMission = "parcel_not_for_mission", 409, Conflict,
        "包裹 {waybill} 不在县中心待发，或不是发往这个驿站",
        "parcel {waybill} is not waiting at the centre for this station";
    CompartmentsShort = "compartments_short", 409, Conflict,
        "车辆 {vehicle} 的格口不够：需要 {needed} 个（尺寸合适的），只有 {available} 个",
        "vehicle {vehicle} has too few compartments: {needed} needed (of a fitting size), {available} in all";
    ParcelOnAnotherMission = "parcel_on_another_mission", 409, Conflict,
        "有包裹已在另一辆车的任务中，或车辆已有进行中的任务",
        "a parcel is already on another vehicle's mission, or the vehicle already has a mission";
    MissionNotPlanned = "mission_not_planned", 409, Conflict,
        "任务当前状态为 {status}，只能在出发前装车或出发",
        "the mission is {status}; loading and departure happen before it leaves";
    WaybillNotInMission = "waybill_not_in_mission", 422, InvalidRequest,
        "运单 {waybill} 不在这个任务中",
        "waybill {waybill} is not on this mission";
    MissionNotLoaded = "mission_not_loaded", 409, Conflict,
        "还有 {n} 件包裹没有扫描装车",
        "{n} parcels have not been scanned aboard yet";
    MissionNotActive = "mission_not_active", 409, Conflict,
        "这辆车没有进行中的任务",
        "this vehicle has no mission under way";
    ReplanNoVehicle = "replan_no_vehicle", 422, InvalidRequest,
        "请选择 1 至 50 辆接替的其他车辆",
        "name 1 to 50 other vehicles to take over the stops";
    ReplanNoRoom = "replan_no_room", 409, Conflict,
        "接替车辆装不下剩余的 {n} 个站点的包裹，或未获准驶往这些驿站；请多选车辆",
        "the vehicles named cannot take the remaining {n} stops (compartments or clearance); name more vehicles";
    IncidentNoteInvalid = "incident_note_invalid", 422, InvalidRequest,
        "请填写{what}（1 至 {max} 个字）",
        "write the {what} (1 to {max} characters)";
    IncidentState = "incident_state", 409, Conflict,
        "事件当前状态为 {status}，不能这样处理（接管须在未接管时，交还和记录操作须在接管中，关闭须先交还）",
        "the incident is {status}: take over an open one, act and hand back while taken over, close after handing back";
    TakenOverByAnother = "taken_over_by_another", 409, Conflict,
        "这辆车正由另一位安全员接管",
        "another safety operator has taken this vehicle over";
    // branch vehicles ends here.
    //
    // branch send-flow (issue 14, session 8): the sender's pages, the
    // centre's order list, the sending API, tracking and webhooks.
    SendPhotoInvalid = "send_photo_invalid", 422, InvalidRequest,
        "照片须为 JPEG、PNG 或 WebP 图片，不超过 {max_kb} KB，请重新拍摄或选择",
        "the photo must be a JPEG, PNG or WebP image of at most {max_kb} KB; take or choose it again";
    SendKioskInvalid = "send_kiosk_invalid", 422, InvalidRequest,
        "寄件宝编码有误（最多 {max} 位字母、数字或 -），请重新扫描寄件宝上的二维码",
        "the kiosk code is not valid (at most {max} letters, digits or -); scan the QR code on the kiosk again";
    SendFilterInvalid = "send_filter_invalid", 422, InvalidRequest,
        "筛选条件 {field} 的值 {value} 无效，请从列表中选择",
        "the filter {field} cannot be {value}; choose from the list";
    //
    // (send-flow ends here)
    //
    // branch kiosks (issue 14, session 8): the kiosk fleet and its devices,
    // collection, the daily report, pre-sale campaigns.
    KioskInvalid = "kiosk_invalid", 422, InvalidRequest,
        "寄件宝信息有误，请检查编号（字母、数字和 -，至多 24 个）、场所和支局（1 至 64 个字）、场景、区划代码、经纬度和布放日期（YYYY-MM-DD）",
        "the kiosk is not valid: {detail}";
    KioskCodeTaken = "kiosk_code_taken", 409, Conflict,
        "这个寄件宝编号已被使用，请换一个",
        "this kiosk code is already in use; choose another";
    KioskStaffUnknown = "kiosk_staff_unknown", 422, InvalidRequest,
        "责任人“{staff}”不是在用的县级中心人员账号，请填写其用户名",
        "{staff} is not an active county staff account; name the responsible person by username";
    KioskRetired = "kiosk_retired", 409, Conflict,
        "寄件宝 {kiosk} 已撤机，不能再修改或揽收",
        "kiosk {kiosk} is retired: it can no longer be changed or collected from";
    KioskBinNotEmpty = "kiosk_bin_not_empty", 409, Conflict,
        "寄件宝 {kiosk} 的投递箱里还有 {n} 件待揽收，请先揽收再撤机",
        "kiosk {kiosk} still has {n} items waiting in its bin; collect them before retiring it";
    KioskImportTooLarge = "kiosk_import_too_large", 422, InvalidRequest,
        "一次最多导入 {max} 台寄件宝，请拆分文件",
        "at most {max} kiosks in one import; split the file";
    KioskImportUnreadable = "kiosk_import_unreadable", 422, InvalidRequest,
        "文件无法读取：请上传第一行为列名（含 code）的 CSV 或 .xlsx 文件，大小不超过 4 MB",
        "the file cannot be read: {detail}";
    CollectionWaybillInvalid = "collection_waybill_invalid", 422, InvalidRequest,
        "请扫描或输入运单号（1 至 {max} 个字符）",
        "scan or type a waybill number (1 to {max} characters)";
    CollectionTooManyScans = "collection_too_many_scans", 422, InvalidRequest,
        "本次揽收已扫描 {max} 次，请结束后重新开始",
        "this run has {max} scans already; close it and start another";
    CollectionClosed = "collection_closed", 409, Conflict,
        "本次揽收已结束；如需继续，请重新开始揽收",
        "this collection run is closed; start another to go on";
    // (kiosks ends here)
    //
    // branch presale (issue 14, session 9): pre-sale campaigns, the
    // sending API, kiosk devices.
    PresaleCampaignInvalid = "presale_campaign_invalid", 422, InvalidRequest,
        "预售活动信息有误，请检查名称和网店（1 至 64 个字）以及开始、结束日期（YYYY-MM-DD，结束不早于开始）",
        "the campaign is not valid: {detail}";
    PresaleImportUnreadable = "presale_import_unreadable", 422, InvalidRequest,
        "订单文件无法读取：请上传第一行为列名（订单号、手机号、商品、金额、自提点）的 CSV 或 .xlsx 文件，不超过 4 MB、5000 行",
        "the order file cannot be read: {detail}";
    //
    // (presale ends here)
    //
    // branch claims (issue 15, session 9): claims, write-offs, unclaimed money.
    ReceiptClaimed = "receipt_claimed", 409, Conflict,
        "这笔到账已由 {by} 认领给 {carrier}，不能再认领；如认领有误，请联系财务更正",
        "this receipt was claimed already by {by} for {carrier}; it cannot be claimed again";
    WriteOffNothing = "write_off_nothing", 409, Conflict,
        "{carrier} 没有可核销的金额：预收款余额 {credit}，所选账单未付 {owed}",
        "there is nothing to write off for {carrier}: its credit is {credit} and the invoices chosen owe {owed}";
    WriteOffInvoiceInvalid = "write_off_invoice_invalid", 422, InvalidRequest,
        "账单 {id} 不是 {carrier} 尚未付清的账单",
        "invoice {id} is not an unpaid invoice of {carrier}";
    WriteOffKeyInvalid = "write_off_key_invalid", 422, InvalidRequest,
        "核销请求编号须为 1 至 {max} 个可见 ASCII 字符，且不以 bad: 开头",
        "the write-off request key must be 1 to {max} visible ASCII characters, not starting with bad:";
    WriteOffKeyReused = "write_off_key_reused", 409, Conflict,
        "核销请求编号 {key} 已用于另一单位的核销；新的核销请使用新的编号",
        "the write-off request key {key} was used for another debtor's write-off; use a new key";
    WriteOffAmountInvalid = "write_off_amount_invalid", 422, InvalidRequest,
        "核销金额须大于零且不超过一千万元，以元为单位，如 1200.50",
        "the write-off amount must be more than zero and at most 10,000,000 yuan, such as 1200.50";
    WriteOffTooManyInvoices = "write_off_too_many_invoices", 422, InvalidRequest,
        "一次核销最多选 {max} 张账单",
        "one write-off names at most {max} invoices";
    // (claims ends here)
    //
    // branch fleet-ops (issue 20, session 9): vehicle commands, compartment
    // pickup, hand-over, the fleet's pages.
    VehicleTakesNoCommands = "vehicle_takes_no_commands", 409, Conflict,
        "车辆 {vehicle} 是有人驾驶的货车，不接收远程指令；请电话联系司机",
        "vehicle {vehicle} is a van with a driver and takes no remote commands; call the driver";
    VehicleCommandInvalid = "vehicle_command_invalid", 422, InvalidRequest,
        "车辆指令无效：{what}",
        "invalid vehicle command: {what}";
    VehicleCompartmentUnknown = "vehicle_compartment_unknown", 422, InvalidRequest,
        "车辆 {vehicle} 没有 {number} 号格口（或重复选择了同一格口）",
        "vehicle {vehicle} has no compartment {number} (or it was chosen twice)";
    FleetFormInvalid = "fleet_form_invalid", 422, InvalidRequest,
        "请检查“{field}”：应为 {expected}",
        "check {field}: it should be {expected}";
    //
    // (fleet-ops ends here)
    //
    // main (issue 16, session 9): the sorting hub's board.
    HubPlanMissing = "hub_plan_missing", 409, Conflict,
        "分拣中心尚未采用分拣方案：请先在“分拣方案”页生成方案并采用，再导入分拣明细",
        "the hub has no plan yet: make one on the sort plan page and adopt it before importing an item log";
    HubPlanNameInvalid = "hub_plan_name_invalid", 422, InvalidRequest,
        "请填写方案名称（1 至 {max} 个字）",
        "name the plan (1 to {max} characters)";
    HubLogUnreadable = "hub_log_unreadable", 422, InvalidRequest,
        "无法读取日志：请上传分拣系统或场院系统导出的 CSV 或 .xlsx 文件，表头见 crates/sort/LOG.md",
        "the log cannot be read: {detail}";
    //
    // (main ends here)
    //
    // branch kiosk-dev (issue 14, session 10): the kiosk's devices and
    // screen, sending at the 24-hour terminal.
    //
    KioskWeightMissing = "kiosk_weight_missing", 409, Conflict,
        "秤上还没有稳定的读数：请把包裹放在秤上，稍等片刻再点“称重”",
        "the scale has no settled reading yet: put the parcel on the scale, wait a moment and press weigh again";
    KioskDeviceMissing = "kiosk_device_missing", 409, Conflict,
        "这台寄件宝没有登记{device}，请联系县中心",
        "this kiosk has no {device} registered; contact the county centre";
    KioskPhotoRefused = "kiosk_photo_refused", 401, Auth,
        "照片的设备签名不对，或没有对应的拍照指令，已拒收",
        "the photo's device signature is wrong or no capture command matches it; refused";
    KioskLabelTooLarge = "kiosk_label_too_large", 422, InvalidRequest,
        "面单超过打印指令的长度限制（{max} 字节），请在屏幕上打开面单",
        "the label is longer than a print command may carry ({max} bytes); open the label on the screen";
    //
    // (kiosk-dev ends here)
    //
    // branch money2 (issue 15, session 10): collection plans, reminders,
    // exposure control, corrections, the carrier's view and the API.
    CollectionPlanClosed = "collection_plan_closed", 409, Conflict,
        "{first} 至 {last} 的清欠计划已结束（或在一年以后），不能制定或修改目标",
        "the collection plan for {first} to {last} is over (or more than a year ahead): its targets cannot be set";
    CollectionTargetInvalid = "collection_target_invalid", 422, InvalidRequest,
        "清欠目标第 {row} 行有误：{reason}",
        "collection target row {row} is invalid: {reason}";
    CreditLimitInvalid = "credit_limit_invalid", 422, InvalidRequest,
        "信用额度须为零或正数，不超过一千万元，以元为单位，如 50000；留空为不设额度",
        "the credit limit must be zero or more and at most 10,000,000 yuan, such as 50000; empty means no limit";
    CarrierHeld = "carrier_held", 409, Conflict,
        "{carrier} 欠费超过信用额度或逾期超过 90 天，新的预报暂停接收；请结清欠款或联系县级中心财务解除。已到县的包裹照常派送",
        "{carrier} owes beyond its credit limit or for more than 90 days past due: new manifests are held; pay the debt or ask the county centre's finance to release it. Parcels already in the county are delivered as usual";
    CarrierNotHeld = "carrier_not_held", 409, Conflict,
        "{carrier} 目前没有被暂停接收预报，无需解除",
        "{carrier} is not held: there is nothing to release";
    ClaimSpent = "claim_spent", 409, Conflict,
        "这笔认领的 {amount} 已核销到 {carrier} 的账单（其预收款余额仅 {credit}），不能直接撤销认领；请先冲回核销",
        "the {amount} claimed was written off against {carrier}'s invoices (its credit is only {credit}): reverse the write-off before un-claiming";
    BadDebtReasonInvalid = "bad_debt_reason_invalid", 422, InvalidRequest,
        "请填写无法收回的原因（1 至 {max} 个字）",
        "give the reason the debt cannot be collected (1 to {max} characters)";
    UnclaimReasonInvalid = "unclaim_reason_invalid", 422, InvalidRequest,
        "请填写撤销认领的原因（1 至 {max} 个字）",
        "give the reason for un-claiming (1 to {max} characters)";
    // (money2 ends here)
    //
    // branch vehicles2 (issue 20, session 10): collecting from a compartment,
    // the terminal's hand-over, missions on /fleet, the benchmark.
    //
    StopNotForCollection = "stop_not_for_collection", 409, Conflict,
        "这一站不是车上自取站点，或已交接完毕",
        "recipients do not collect from the vehicle at this stop, or it was handed over";
    ParcelNotOnVehicle = "parcel_not_on_vehicle", 409, Conflict,
        "这个包裹不在到站车辆的格口里，请到驿站货架取件",
        "this parcel is not in a compartment of a vehicle here; collect it from the station's shelves";
    // (vehicles2 ends here)
    //
    // main (issue 14, session 10): the sender's JSON API, labels.
    SendPhotoUnknown = "send_photo_unknown", 422, InvalidRequest,
        "照片 {photo} 不是本订单上传的：请为本订单重新拍照或上传",
        "photo {photo} was not uploaded for this order; take or upload it for this order";
    SendPartyIncomplete = "send_party_incomplete", 422, InvalidRequest,
        "{party}信息不全：请从地址簿选择（address_id），或填写姓名、手机号、行政区划代码和详细地址",
        "the {party} is incomplete: pick an address book entry (address_id), or give name, phone, division and detail";
    LabelFormatUnknown = "label_format_unknown", 404, NotFound,
        "没有这种面单格式；可用的格式：{formats}",
        "there is no such label format; the formats are {formats}";
    SendAddressUnknown = "send_address_unknown", 404, NotFound,
        "地址簿中没有编号为 {id} 的地址",
        "there is no address {id} in your address book";
    //
    // (main 10 ends here)
}

impl Code {
    /// The placeholders a template names, in order, each once.
    pub fn placeholders(template: &str) -> Vec<&str> {
        let mut names = Vec::new();
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else { break };
            let name = &after[..end];
            if !names.contains(&name) {
                names.push(name);
            }
            rest = &after[end + 1..];
        }
        names
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}
