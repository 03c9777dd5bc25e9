-- Sending (issue 14, branch send-flow): the photos a sender uploads at
-- inspection — a prescription's or invoice's photo for medicines, the open
-- package. Sealed by the store (`enc1:…` over the base64 of the image):
-- a prescription is health data. An order's evidence names a photo as
-- `photo:{id}`; only the order's sender can add one, to a draft order.

CREATE TABLE send_photos (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES send_orders(id),
    sender_id BIGINT NOT NULL REFERENCES senders(id),
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX send_photos_order ON send_photos (order_id);
