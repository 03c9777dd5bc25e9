//! The compliance page (合规管理, issue 12): for the compliance officer,
//! the auditor and the administrator. Findings by owner and age with a
//! status filter, one finding's evidence and history, the officer's
//! assign / explain / close / escalate form and "run the checks" button,
//! and the audit trail with a filter and the chain's verification. Like the
//! console: parse, call one use case, render; the rights are the use
//! cases' (`may_read_findings`, `may_manage_findings`, `may_read_audit`).

use crate::i18n::Tr;
use crate::{Session, WebError, WebState, local, render};
use app::audit::{AuditRow, VerifyReport};
use app::compliance::{Finding, FindingDetail, FindingUpdate};
use app::ports::audit::AuditFilter;
use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use domain::compliance::{FindingStatus, Rule};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/compliance", get(overview))
        .route("/compliance/run", post(run))
        .route(
            "/compliance/findings/{finding_id}",
            get(finding).post(update),
        )
}

/// Rows of the audit trail the page shows.
const TRAIL_ROWS: u32 = 50;

/// A signed-in user who may read findings: the compliance officer, the
/// auditor or the administrator. Anyone else signed in goes to the console.
pub struct Overseer(Session);

impl std::ops::Deref for Overseer {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.0
    }
}

impl FromRequestParts<WebState> for Overseer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::read(parts, state).await?;
        if !session.principal.may_read_findings() {
            return Err(Redirect::to(crate::home_for(&session.principal)).into_response());
        }
        Ok(Overseer(session))
    }
}

/// The Chinese or English name of a role, rule, status or act code.
fn label(tr: Tr, table: &[(&'static str, &'static str, &'static str)], code: &str) -> String {
    match table.iter().find(|(c, _, _)| *c == code) {
        Some((_, zh, en)) => if tr.is_en() { en } else { zh }.to_string(),
        None => code.to_string(),
    }
}

const ROLES: &[(&str, &str, &str)] = &[
    ("admin", "管理员", "administrator"),
    ("county_operator", "县级中心", "county operator"),
    ("station_keeper", "驿站店主", "station keeper"),
    ("carrier_integrator", "快递公司系统", "carrier's system"),
    ("station_terminal", "自助终端", "door terminal"),
    ("compliance_officer", "合规专员", "compliance officer"),
    ("auditor", "审计", "auditor"),
    ("system", "系统", "system"),
];

const ACTS: &[(&str, &str, &str)] = &[
    ("phone_revealed", "查看完整手机号", "whole phone revealed"),
    (
        "pickup_staff_assisted",
        "凭证件人工出库",
        "staff-assisted pickup",
    ),
    ("manual_resolved", "人工分拣处理", "manual queue resolved"),
    ("misroute_recorded", "错分改派", "misroute recorded"),
    ("parcel_returned", "退回快递公司", "returned to carrier"),
    ("user_created", "新建用户", "user created"),
    ("user_disabled", "停用用户", "user disabled"),
    (
        "password_set",
        "管理员重设密码",
        "password set by an administrator",
    ),
    (
        "password_changed",
        "用户修改本人密码",
        "own password changed",
    ),
    ("user_enabled", "启用用户", "user enabled"),
    ("tokens_revoked", "吊销令牌", "tokens revoked"),
    ("token_issued", "签发接口令牌", "API token issued"),
    ("terminal_paired", "配对自助终端", "terminal paired"),
    ("station_created", "新建驿站", "station created"),
    (
        "agreement_created",
        "新建协议版本",
        "agreement version created",
    ),
    ("route_created", "新建线路", "route created"),
    ("contractor_created", "新建承包方", "contractor created"),
    ("webhook_created", "新建回调订阅", "webhook created"),
    ("webhook_updated", "修改回调订阅", "webhook changed"),
    ("webhook_deleted", "删除回调订阅", "webhook deleted"),
    (
        "webhook_secret_rotated",
        "更换回调密钥",
        "webhook secret rotated",
    ),
    ("data_exported", "数据导出", "data exported"),
    ("dispatch_planned", "发运规划", "dispatch planned"),
    ("compliance_run", "运行合规检查", "compliance checks run"),
    ("finding_updated", "处理合规问题", "finding updated"),
    ("device_registered", "登记设备", "device registered"),
    ("device_replaced", "更换设备", "device replaced"),
    (
        "contact_phone_changed",
        "修改驿站联系电话",
        "station contact phone changed",
    ),
    ("retention_run", "到期数据清理", "retention run"),
    ("approval_requested", "提交审批申请", "approval requested"),
    ("approval_granted", "批准申请", "approval granted"),
    ("approval_refused", "拒绝申请", "approval refused"),
    // Branch `station`: the keeper's consent record and added phone.
    ("consent_recorded", "记录收件人意见", "consent recorded"),
    (
        "contact_added",
        "补录收件人手机号",
        "recipient's phone added",
    ),
    // Branch `sending`: real-name sending and waybill number pools.
    (
        "sender_verified",
        "寄件人实名登记",
        "sender real-name checked",
    ),
    (
        "waybill_range_added",
        "上传运单号段",
        "waybill range uploaded",
    ),
    // Branch `money`: statements.
    ("statement_issued", "开具对账单", "statement issued"),
    (
        "statement_line_resolved",
        "处理对账异议",
        "statement dispute resolved",
    ),
    (
        "debtor_terms_set",
        "设置欠费收缴负责人与付款期限",
        "debtor's responsible person and terms set",
    ),
    (
        "bank_statement_imported",
        "导入银行流水",
        "bank statement imported",
    ),
    // Branch `vehicles` (issue 20): the fleet and the safe-driving system.
    ("vehicle_registered", "登记车辆", "vehicle registered"),
    ("hub_plan_adopted", "采用分拣中心方案", "hub plan adopted"),
    ("hub_log_imported", "导入分拣中心日志", "hub log imported"),
    ("missions_created", "下达配送任务", "missions created"),
    (
        "mission_replanned",
        "故障车辆任务改派",
        "broken-down vehicle's mission re-planned",
    ),
    ("vehicle_taken_over", "安全员接管车辆", "vehicle taken over"),
    (
        "vehicle_takeover_action",
        "接管中的操作",
        "action while taken over",
    ),
    ("vehicle_handed_back", "交还车辆控制", "vehicle handed back"),
    ("incident_closed", "关闭安全事件", "incident closed"),
    // Branch `send-flow` (issue 14).
    (
        "send_order_cancelled",
        "县中心取消寄件订单",
        "sending order cancelled by staff",
    ),
    // Branch `kiosks` (issue 14): the kiosk fleet.
    ("kiosk_created", "布放寄件宝", "kiosk placed"),
    ("kiosk_updated", "修改寄件宝", "kiosk changed"),
    ("kiosk_retired", "寄件宝撤机", "kiosk retired"),
    (
        "vehicle_handed_over",
        "车辆到站交接",
        "vehicle handed over at a station",
    ),
    ("mission_finished", "配送任务结束", "mission finished"),
    // Branch `claims` (issue 15): claims and write-offs.
    ("receipt_claimed", "认领到账款项", "receipt claimed"),
    ("write_off_made", "核销账单", "invoices written off"),
    // Branch `presale` (issue 14): community pre-sale campaigns.
    (
        "presale_campaign_created",
        "创建社区预售活动",
        "pre-sale campaign created",
    ),
    (
        "presale_imported",
        "导入预售订单",
        "pre-sale orders imported",
    ),
    // Branch `fleet-ops` (issue 20, session 9).
    (
        "vehicle_compartments_opened",
        "到站车辆开舱",
        "vehicle compartments opened at a station",
    ),
    // Branch `money2` (issue 15, session 10).
    (
        "collection_plan_set",
        "制定清欠计划目标",
        "collection plan set",
    ),
    ("credit_limit_set", "设定信用额度", "credit limit set"),
    ("carrier_held", "暂停接收快递公司预报", "carrier held"),
    ("carrier_released", "解除暂停接收预报", "carrier released"),
    ("receipt_unclaimed", "撤销认领", "receipt un-claimed"),
    ("bad_debt_written_off", "坏账核销", "bad debt written off"),
    // Branch `vehicles2` (issue 20, session 10).
    (
        "vehicle_collection_opened",
        "到站车辆开放车上取件",
        "vehicle opened for collection at a station",
    ),
];

const STATUSES: &[(&str, &str, &str)] = &[
    ("open", "待处理", "open"),
    ("explained", "已说明", "explained"),
    ("fixed", "已整改", "fixed"),
    ("escalated", "已上报", "escalated"),
];

fn rule_title(tr: Tr, code: &str) -> String {
    match Rule::parse(code) {
        Some(rule) if tr.is_en() => rule.title_en().to_string(),
        Some(rule) => rule.title_zh().to_string(),
        None => code.to_string(),
    }
}

/// One finding as a row of the list.
struct FindingRow {
    id: i64,
    rule: String,
    owner: String,
    responsible: String,
    age_days: i64,
    due: String,
    overdue: bool,
    status: String,
}

/// One audit row as the page shows it.
struct TrailRow {
    seq: i64,
    at: String,
    actor: String,
    role: String,
    act: String,
    object: String,
    station: String,
    details: String,
}

struct Choice {
    code: &'static str,
    name: String,
    on: bool,
}

#[derive(Template)]
#[template(path = "compliance.html")]
struct OverviewPage {
    t: Tr,
    csrf: String,
    user: String,
    role: String,
    manages: bool,
    reads_audit: bool,
    ran: Option<String>,
    /// A status filter is on.
    filtered: bool,
    statuses: Vec<Choice>,
    findings: Vec<FindingRow>,
    verify: Option<VerifyView>,
    acts: Vec<Choice>,
    trail: Vec<TrailRow>,
}

struct VerifyView {
    ok: bool,
    count: u64,
    head_seq: String,
    head_hash: String,
    broken_seq: String,
    broken_reason: String,
}

impl VerifyView {
    fn from(report: VerifyReport) -> VerifyView {
        VerifyView {
            ok: report.ok(),
            count: report.count,
            head_seq: report.head_seq.map(|s| s.to_string()).unwrap_or_default(),
            head_hash: report.head_hash.unwrap_or_default(),
            broken_seq: report
                .broken
                .as_ref()
                .map(|b| b.seq.to_string())
                .unwrap_or_default(),
            broken_reason: report
                .broken
                .map(|b| b.reason.code().to_string())
                .unwrap_or_default(),
        }
    }
}

#[derive(Deserialize, Default)]
struct OverviewQuery {
    status: Option<String>,
    act: Option<String>,
    ran: Option<u32>,
}

async fn overview(
    State(state): State<WebState>,
    who: Overseer,
    Query(query): Query<OverviewQuery>,
) -> Result<Response, WebError> {
    let tr = who.tr;
    let status = query.status.as_deref().and_then(FindingStatus::parse);
    let now = state.app.now();
    let mut findings: Vec<Finding> = state
        .app
        .findings(&who.principal, status)
        .await
        .map_err(who.app_err())?;
    // By owner, then oldest first: each owner sees their backlog in order.
    let owner_of = |f: &Finding| Rule::parse(&f.rule).map_or("", |r| r.owner().code());
    findings.sort_by(|a, b| {
        owner_of(a)
            .cmp(owner_of(b))
            .then(a.found_at.cmp(&b.found_at))
    });
    let findings = findings
        .iter()
        .map(|f| FindingRow {
            id: f.id,
            rule: rule_title(tr, &f.rule),
            owner: label(tr, ROLES, owner_of(f)),
            responsible: f.responsible.clone().unwrap_or_else(|| "—".into()),
            age_days: (now - f.found_at).num_days(),
            due: local(f.due_at),
            overdue: f.due_at < now && !f.status.is_closed(),
            status: label(tr, STATUSES, f.status.code()),
        })
        .collect();
    let reads_audit = who.principal.may_read_audit();
    let act = query.act.filter(|a| ACTS.iter().any(|(c, _, _)| c == a));
    let (verify, trail) = if reads_audit {
        let report = state
            .app
            .verify_audit(&who.principal)
            .await
            .map_err(who.app_err())?;
        let rows: Vec<AuditRow> = state
            .app
            .audit_trail(
                &who.principal,
                AuditFilter {
                    act: act.clone(),
                    limit: TRAIL_ROWS,
                    ..Default::default()
                },
            )
            .await
            .map_err(who.app_err())?;
        let trail = rows
            .into_iter()
            .map(|row| TrailRow {
                seq: row.seq,
                at: chrono::DateTime::from_timestamp_millis(row.at_ms)
                    .map(local)
                    .unwrap_or_default(),
                actor: row.actor,
                role: label(tr, ROLES, &row.actor_role),
                act: label(tr, ACTS, &row.act),
                object: match row.object_id {
                    Some(id) => format!("{} {id}", row.object_kind),
                    None => row.object_kind,
                },
                station: row.station_id.map(|s| s.to_string()).unwrap_or_default(),
                details: row.details,
            })
            .collect();
        (Some(VerifyView::from(report)), trail)
    } else {
        (None, Vec::new())
    };
    let statuses = STATUSES
        .iter()
        .map(|(code, _, _)| Choice {
            code,
            name: label(tr, STATUSES, code),
            on: status.is_some_and(|s| s.code() == *code),
        })
        .collect();
    let acts = ACTS
        .iter()
        .map(|(code, _, _)| Choice {
            code,
            name: label(tr, ACTS, code),
            on: act.as_deref() == Some(*code),
        })
        .collect();
    Ok(render(OverviewPage {
        t: tr,
        csrf: who.csrf.clone(),
        user: who.principal.username.clone(),
        role: label(tr, ROLES, who.principal.role.code()),
        manages: who.principal.may_manage_findings(),
        reads_audit,
        ran: query.ran.map(|n| n.to_string()),
        filtered: status.is_some(),
        statuses,
        findings,
        verify,
        acts,
        trail,
    }))
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn run(
    State(state): State<WebState>,
    who: Overseer,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, WebError> {
    who.check(&state, &form.csrf)?;
    let run = state
        .app
        .run_compliance(&who.principal)
        .await
        .map_err(who.app_err())?;
    Ok(Redirect::to(&format!("/compliance?ran={}", run.new_findings)).into_response())
}

struct HistoryRow {
    at: String,
    actor: String,
    status: String,
    responsible: String,
    note: String,
}

#[derive(Template)]
#[template(path = "finding.html")]
struct FindingPage {
    t: Tr,
    csrf: String,
    user: String,
    id: i64,
    rule: String,
    owner: String,
    status: String,
    responsible: String,
    found: String,
    due: String,
    last_seen: String,
    evidence: String,
    history: Vec<HistoryRow>,
    /// The officer's form, unless the finding is closed.
    editable: bool,
    statuses: Vec<Choice>,
}

async fn finding(
    State(state): State<WebState>,
    who: Overseer,
    Path(finding_id): Path<i64>,
) -> Result<Response, WebError> {
    let detail = state
        .app
        .finding(&who.principal, finding_id)
        .await
        .map_err(who.app_err())?;
    Ok(finding_page(&who, detail))
}

fn finding_page(who: &Overseer, detail: FindingDetail) -> Response {
    let tr = who.tr;
    let f = &detail.finding;
    render(FindingPage {
        t: tr,
        csrf: who.csrf.clone(),
        user: who.principal.username.clone(),
        id: f.id,
        rule: if tr.is_en() {
            detail.title_en
        } else {
            detail.title_zh
        }
        .to_string(),
        owner: label(tr, ROLES, detail.owner),
        status: label(tr, STATUSES, f.status.code()),
        responsible: f.responsible.clone().unwrap_or_else(|| "—".into()),
        found: local(f.found_at),
        due: local(f.due_at),
        last_seen: local(f.last_seen_at),
        evidence: f.evidence.clone(),
        history: detail
            .history
            .iter()
            .map(|h| HistoryRow {
                at: local(h.at),
                actor: h.actor.clone(),
                status: label(tr, STATUSES, h.status.code()),
                responsible: h
                    .responsible_user_id
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                note: h.note.clone().unwrap_or_default(),
            })
            .collect(),
        editable: who.principal.may_manage_findings() && !f.status.is_closed(),
        statuses: STATUSES
            .iter()
            .map(|(code, _, _)| Choice {
                code,
                name: label(tr, STATUSES, code),
                on: *code == f.status.code(),
            })
            .collect(),
    })
}

#[derive(Deserialize)]
struct UpdateForm {
    csrf: String,
    status: String,
    #[serde(default)]
    responsible: String,
    #[serde(default)]
    note: String,
}

async fn update(
    State(state): State<WebState>,
    who: Overseer,
    Path(finding_id): Path<i64>,
    Form(form): Form<UpdateForm>,
) -> Result<Response, WebError> {
    who.check(&state, &form.csrf)?;
    state
        .app
        .update_finding(
            &who.principal,
            finding_id,
            FindingUpdate {
                status: FindingStatus::parse(&form.status),
                responsible: Some(form.responsible),
                note: Some(form.note),
            },
        )
        .await
        .map_err(who.app_err())?;
    Ok(Redirect::to(&format!("/compliance/findings/{finding_id}")).into_response())
}

#[cfg(test)]
mod act_labels {
    /// Every act of the audit trail has its words on the compliance page,
    /// so the trail never shows a bare code.
    #[test]
    fn every_act_has_a_label() {
        for &act in domain::audit::Act::ALL {
            assert!(
                super::ACTS.iter().any(|(code, _, _)| *code == act.code()),
                "no label for {}",
                act.code()
            );
        }
    }
}
