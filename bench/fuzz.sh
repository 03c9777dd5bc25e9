#!/usr/bin/env bash
# Fuzzes everything that reads outside input (fuzz/fuzz_targets), each target
# for RUNS inputs (default one million). Not part of CI: a full run takes
# about an hour on two cores. Results go into docs/benchmarks.md by hand.
#
#   bench/fuzz.sh                 # every target, 1,000,000 inputs each
#   bench/fuzz.sh 100000 phone    # one target, fewer inputs
#
# Uses cargo-fuzz (libFuzzer + AddressSanitizer) on the stable toolchain with
# RUSTC_BOOTSTRAP=1 for the sanitizer flags. Seeds are written into
# fuzz/seeds/ from files in the repository (and ../shared/data when present);
# the growing corpus is kept in fuzz/corpus/ and crashes in fuzz/artifacts/
# (both ignored by git).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
RUNS="${1:-1000000}"
shift || true
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

ALL=(waybill phone address manifest_csv manifest_xlsx vrplib mqtt_payload qr_token api_json)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")

# Seeds: a few valid inputs per target so the fuzzer starts past the outer
# syntax (a zip container, a VRPLIB header, a JSON object).
mkdir -p seeds
python3 - <<'PY'
import os, zipfile, io, json, glob, gzip
def put(target, name, data):
    os.makedirs(f"seeds/{target}", exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(f"seeds/{target}/{name}", mode) as f:
        f.write(data)
for i, w in enumerate(["ZT73100000001", "SF1234567890123", "EA123456785CN", "yt 8888 8888 8888", "JD0012345678901-1-1-"]):
    put("waybill", str(i), w)
for i, p in enumerate(["13812345678", "+86 138-1234-5678", "138****5678", "17012345678转1234", "17012345678[12]", "5678"]):
    put("phone", str(i), p)
for i, a in enumerate(["四川省成都市武侯区簇桥街道石桥村3组12号 张三 13812345678",
                       "张三，13812345678，浙江省杭州市西湖区文三路90号 邮编310012",
                       "崇州市三江街道 李四 139-8765-4321 收"]):
    put("address", str(i), a)
rows = "waybill,recipient_name,phone,address,station_id,size,consent\n" + "".join(
    f"73{i:010},张三,138{i:08},四川省成都市武侯区簇桥街道石桥村{i}组,1,small,true\n" for i in range(5))
put("manifest_csv", "0", rows)
# A minimal .xlsx written by hand (a zip of four XML parts, inline strings).
def xlsx(cells):
    sheet_rows = "".join(
        f'<row r="{r+1}">' + "".join(
            f'<c r="{chr(65+c)}{r+1}" t="inlineStr"><is><t>{v}</t></is></c>' for c, v in enumerate(row)) + "</row>"
        for r, row in enumerate(cells))
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{sheet_rows}</sheetData></worksheet>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return out.getvalue()
put("manifest_xlsx", "0", xlsx([["waybill", "recipient_name", "phone", "address", "station_id", "size", "consent"]] +
    [[f"73{i:010}", "张三", f"138{i:08}", "石桥村3组", "1", "small", "true"] for i in range(3)]))
vrp = sorted(glob.glob("../../shared/data/**/*.vrp", recursive=True), key=os.path.getsize)[:3]
vrp += sorted(glob.glob("../../shared/data/**/*.txt", recursive=True), key=os.path.getsize)[:2]
for i, path in enumerate(vrp):
    put("vrplib", str(i), open(path, "rb").read()[:20000])
put("vrplib", "inline", "NAME : tiny\nTYPE : CVRP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 10\nNODE_COORD_SECTION\n1 0 0\n2 3 4\n3 6 8\nDEMAND_SECTION\n1 0\n2 5\n3 5\nDEPOT_SECTION\n1\n-1\nEOF\n")
put("vrplib", "solution", "Route #1: 1 2\nCost 20\n")
for i, line in enumerate(l for l in open("../docs/devices.md", encoding="utf-8") if l.startswith("{")):
    put("mqtt_payload", str(i), line.strip())
put("mqtt_payload", "topic", "yizhan/v1/stations/7/door/front/ack")
for i, body in enumerate(['{"waybill":"ZT73100000001","phone":"13812345678","station_id":1}', '{}', '[]', '{"name":"x"}']):
    put("api_json", str(i), bytes([i * 7]) + body.encode())
PY
[ -n "$(ls seeds/vrplib 2>/dev/null | grep -v inline | grep -v solution)" ] || echo "fuzz: ../shared/data is absent; vrplib starts from the inline seeds only"

echo "fuzz: building the targets"
cargo fuzz build >/dev/null
mkdir -p corpus
for target in "${TARGETS[@]}"; do
  max_len=4096
  case "$target" in manifest_xlsx|manifest_csv|vrplib) max_len=65536 ;; esac
  mkdir -p "corpus/$target" "seeds/$target"
  echo "fuzz: $target, $RUNS inputs"
  started=$(date +%s)
  if cargo fuzz run "$target" "corpus/$target" "seeds/$target" -- \
      -runs="$RUNS" -max_len="$max_len" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
      > "corpus/$target.log" 2>&1; then
    outcome=ok
  else
    outcome="FAILED (see fuzz/corpus/$target.log and fuzz/artifacts/$target/)"
  fi
  seconds=$(( $(date +%s) - started ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "corpus/$target.log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "corpus/$target.log" | tail -1 || echo "cov: ?")
  echo "fuzz: $target: $outcome; $execs inputs in ${seconds}s; $cov"
done
