-- Seeing (issue 16): the board reads the event tables directly
-- (ARCHITECTURE.md, "The board reads the event tables"); these indexes
-- serve its ranges. parcel_events already has (kind, at) and
-- (station_id, at); fees are summed per day across carriers, and webhook
-- health counts deliveries written in a range.
CREATE INDEX fee_ledger_day ON fee_ledger (day);
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);
