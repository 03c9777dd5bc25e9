//! The county centre console (`/centre`, issue 13).

pub(super) const STRINGS: super::Strings = &[
    ("centre.name", "县级共配中心", "County centre"),
    ("centre.nav.home", "首页", "Home"),
    ("centre.nav.arrival", "到件扫描", "Arrival scan"),
    ("centre.nav.manual", "人工分拣", "Manual queue"),
    ("centre.nav.bags", "装袋与交接", "Bags & handover"),
    ("centre.nav.agreements", "合作协议", "Agreements"),
    ("centre.nav.reports", "对账与费用", "Reconciliation & fees"),
    ("centre.nav.dispatch", "派车", "Dispatch"),
    ("centre.nav.sort", "分拣方案", "Sort plans"),
    ("centre.nav.stations", "驿站", "Stations"),
];
