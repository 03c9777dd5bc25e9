-- The board's daily aggregates (issue 16; ARCHITECTURE.md, "The board's
-- daily aggregates"): a job rolls each closed Shanghai day up from the
-- event tables once; the board sums these for rolled-up days and counts
-- the events directly only for days not rolled up yet (today). A day's
-- figures are written in the same transaction as its board_days row, so a
-- day is either wholly rolled up or not at all. day_no is the Shanghai day
-- number since 1970-01-01 ((at + 8 h) / 24 h in integer milliseconds).
CREATE TABLE board_days (
    day_no BIGINT PRIMARY KEY,
    rolled_at BIGINT NOT NULL
);
-- Events per day, kind, carrier and county mode ('' when the centre did
-- not route the parcel).
CREATE TABLE board_flow_daily (
    day_no BIGINT NOT NULL,
    kind TEXT NOT NULL,
    carrier TEXT NOT NULL,
    mode TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (day_no, kind, carrier, mode)
);
-- Per station and day: parcels in, picked up, picked up at the terminal.
CREATE TABLE board_station_daily (
    day_no BIGINT NOT NULL,
    station_id BIGINT NOT NULL,
    n_in BIGINT NOT NULL,
    n_picked_up BIGINT NOT NULL,
    n_self BIGINT NOT NULL,
    PRIMARY KEY (day_no, station_id)
);
-- Other counters per day: 'dwell:<bound hours>' (pickups by time on the
-- shelf, '' bound for the last bucket), 'message:<template>'.
CREATE TABLE board_count_daily (
    day_no BIGINT NOT NULL,
    metric TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (day_no, metric)
);
-- Fees accrued per Shanghai day, carrier and mode.
CREATE TABLE board_fee_daily (
    day_no BIGINT NOT NULL,
    carrier TEXT NOT NULL,
    mode TEXT NOT NULL,
    n BIGINT NOT NULL,
    fen BIGINT NOT NULL,
    PRIMARY KEY (day_no, carrier, mode)
);
