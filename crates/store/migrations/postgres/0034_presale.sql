-- Community pre-sale campaigns picked up at stations (issue 14 point 4,
-- branch presale): a campaign of an online shop and its orders. An order
-- for a station points at the parcel it became there (the parcel's state is
-- the order's: stored, picked up, returned); an order for home delivery has
-- no parcel and keeps the buyer's phone, name and address, sealed. An
-- order number is imported once per campaign. Times are Unix milliseconds;
-- days YYYY-MM-DD.
CREATE TABLE presale_campaigns (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    shop TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE presale_orders (
    id BIGSERIAL PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES presale_campaigns(id),
    order_no TEXT NOT NULL,
    items TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    station_id BIGINT REFERENCES stations(id),
    parcel_id BIGINT REFERENCES parcels(id),
    phone TEXT,
    name TEXT,
    address TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX presale_orders_number ON presale_orders (campaign_id, order_no);
CREATE INDEX presale_orders_parcel ON presale_orders (parcel_id);
