//! Claims (认领) and write-offs (核销): the finance pages' and the carrier
//! portal's strings (branch `claims`, issue 15).

pub(super) const STRINGS: super::Strings = &[
    ("claims.unclaimed", "待认领款项", "Unclaimed money"),
    ("approvals.kind.write_off", "大额核销", "Large write-off"),
    (
        "claims.unclaimed_hint",
        "银行到账后尚未认领的款项，按到账日期从早到晚；账龄为到账以来的天数。认领后款项记入该单位的预收款，勾选“并核销”即按到期日从早到晚冲抵其未付账单。",
        "Money in the bank nobody has claimed yet, oldest first; the age is the days since the bank's day. A claim puts the money on the debtor's credit; with “and write off” it also pays the debtor's unpaid invoices, the earliest due first.",
    ),
    (
        "claims.none",
        "没有待认领的款项",
        "Nothing waits to be claimed",
    ),
    ("claims.day", "到账日期", "Bank day"),
    ("claims.age", "账龄（天）", "Age (days)"),
    ("claims.claim", "认领", "Claim"),
    ("claims.for", "认领单位", "Claim for"),
    ("claims.and_write_off", "并核销", "and write off"),
    ("claims.credit", "预收款余额", "Credit"),
    ("claims.write_off", "核销", "Write off"),
    (
        "claims.write_off_hint",
        "用预收款冲抵未付账单：不选账单则按到期日从早到晚，可部分核销；金额留空则尽数核销，余额留作预收款。超过限额的核销须另一人审批。",
        "Apply the credit to unpaid invoices: with no invoice chosen the earliest due is paid first, partly if need be; with no amount as much as possible, and what is left stays as credit. A write-off above the limit needs a second person's approval.",
    ),
    (
        "claims.oldest_first",
        "按到期日从早到晚",
        "Earliest due first",
    ),
    (
        "claims.amount",
        "金额（元，可留空）",
        "Amount (yuan, optional)",
    ),
    ("claims.payments", "核销记录", "Payments applied"),
    (
        "claims.no_payments",
        "还没有核销记录",
        "No payments applied yet",
    ),
    ("claims.claims", "认领记录", "Claims"),
    ("claims.no_claims", "还没有认领记录", "No claims yet"),
    ("claims.invoice", "账单", "Invoice"),
    ("claims.transfer", "转账编号", "Transfer"),
    ("claims.paid", "已付", "Paid"),
    ("claims.receipt", "到账", "Receipt"),
    ("claims.by", "认领人", "Claimed by"),
    (
        "carrier.payments.hint",
        "贵单位的到账经认领后记入预收款，再冲抵对账单（核销）；余额用于下一期账单。",
        "Your payments, once claimed, are your credit and are applied to your statements (written off); what is left pays the next one.",
    ),
];
