//! Sending (issue 14, branch send-page): the privacy label page.

pub(super) const STRINGS: super::Strings = &[
    ("send.label.title", "隐私面单", "Privacy label"),
    (
        "send.label.zpl",
        "下载 ZPL（热敏打印机）",
        "Download ZPL (thermal printer)",
    ),
    ("send.label.to", "收", "To"),
    ("send.label.from", "寄", "From"),
    ("send.label.route", "路由", "Route"),
    ("send.label.weight", "重量", "Weight"),
];
