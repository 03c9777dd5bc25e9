-- Issue 13 (centre console): a bag can be closed (sealed and labelled) at
-- the centre before it is handed over; status 'closed' with its time. The
-- next parcel for the same target then opens a new bag (the open-bag index
-- only covers status 'open').
ALTER TABLE bags ADD COLUMN closed_at BIGINT;
