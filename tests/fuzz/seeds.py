#!/usr/bin/env python3
"""Write the seed corpora and dictionaries of fuzz_http and fuzz_client_ws.

The server state of both targets is src/api/api_fuzz.h's: app 1400000001 with
key API_FUZZ_KEY, admin "administrator", users user1..user3, operator token
API_FUZZ_OP_TOKEN. UserSigs here use TLS.time 1700000000 and a 1e9 s expiry,
so the committed seeds stay valid. Run from the repository root:
    python3 tests/fuzz/seeds.py
then minimize with libFuzzer's -merge=1 into the corpus directories."""
import base64, hashlib, hmac, json, os, re, zlib

H = open("src/api/api_fuzz.h").read()
KEY = re.search(r'API_FUZZ_KEY "([0-9a-f]+)"', H).group(1)
TOKEN = re.search(r'API_FUZZ_OP_TOKEN "([^"]+)"', H).group(1)
APP = 1400000001
T, EXP = 1700000000, 1000000000


def usersig(ident):
    text = f"TLS.identifier:{ident}\nTLS.sdkappid:{APP}\nTLS.time:{T}\nTLS.expire:{EXP}\n"
    sig = base64.b64encode(hmac.new(KEY.encode(), text.encode(), hashlib.sha256).digest()).decode()
    doc = json.dumps({"TLS.ver": "2.0", "TLS.identifier": ident, "TLS.sdkappid": APP, "TLS.expire": EXP,
                      "TLS.time": T, "TLS.sig": sig}, separators=(",", ":"))
    b = base64.b64encode(zlib.compress(doc.encode())).decode()
    return b.replace("+", "*").replace("/", "-").replace("=", "_")


SIG = usersig("administrator")
Q = f"sdkappid={APP}&identifier=administrator&usersig={SIG}&random=4242&contenttype=json"
TEXT = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]
V4 = {
    "im_open_login_svc/account_import": {"UserID": "user9", "Nick": "nine", "FaceUrl": "http://x/9.png"},
    "im_open_login_svc/multiaccount_import": {"Accounts": ["m1", "m2"]},
    "im_open_login_svc/account_delete": {"DeleteItem": [{"UserID": "m1"}, {"UserID": "nobody"}]},
    "im_open_login_svc/account_check": {"CheckItem": [{"UserID": "user1"}, {"UserID": "nobody"}]},
    "im_open_login_svc/kick": {"UserID": "user3"},
    "openim/query_online_status": {"To_Account": ["user1", "user2"], "IsNeedDetail": 1},
    "openim/querystate": {"To_Account": ["user1"]},
    "openim/sendmsg": {"SyncOtherMachine": 2, "From_Account": "user1", "To_Account": "user2", "MsgSeq": 7,
                       "MsgRandom": 1234, "MsgLifeTime": 60, "MsgBody": TEXT, "CloudCustomData": "c",
                       "OfflinePushInfo": {"PushFlag": 0, "Desc": "d"}},
    "openim/batchsendmsg": {"From_Account": "user1", "To_Account": ["user2", "user3"], "MsgRandom": 5, "MsgBody": TEXT},
    "openim/importmsg": {"SyncFromOldSystem": 2, "From_Account": "user1", "To_Account": "user2", "MsgSeq": 9,
                         "MsgRandom": 10, "MsgTimeStamp": 1700000000, "MsgBody": TEXT},
    "openim/admin_getroammsg": {"Operator_Account": "user1", "Peer_Account": "user2", "MaxCnt": 10, "MinTime": 0,
                                "MaxTime": 0},
    "openim/admin_msgwithdraw": {"From_Account": "user1", "To_Account": "user2", "MsgKey": "7_1234_1700000000"},
    "openim/admin_set_msg_read": {"Report_Account": "user2", "Peer_Account": "user1", "MsgReadTime": 1700000000},
    "openim/get_c2c_unread_msg_num": {"To_Account": "user2", "Peer_Account": ["user1"]},
    "openim/modify_c2c_msg": {"From_Account": "user1", "To_Account": "user2", "MsgKey": "7_1234_1700000000",
                              "MsgBody": TEXT},
    "recentcontact/get_list": {"From_Account": "user1", "TimeStamp": 0, "StartIndex": 0, "TopTimeStamp": 0,
                               "TopStartIndex": 0, "AssistFlags": 15},
    "recentcontact/delete": {"From_Account": "user1", "Type": 1, "To_Account": "user2", "ClearRamble": 1},
    "openconfigsvr/getappinfo": {"RequestField": ["ChainIncrease", "ActiveUserNum"]},
}
OP = [
    ("GET", "/operator/v1/customers", None), ("POST", "/operator/v1/customers", {"name": "acme"}),
    ("GET", "/operator/v1/customers/1/wallet", None),
    ("POST", "/operator/v1/customers/1/wallet/topups", {"amount_fen": 100, "reference": "r1", "reason": "seed"}),
    ("GET", "/operator/v1/apps", None),
    ("POST", "/operator/v1/apps", {"customer_id": 1, "name": "two", "region": "singapore"}),
    ("GET", f"/operator/v1/apps/{APP}", None), ("GET", f"/operator/v1/apps/{APP}/usage", None),
    ("GET", f"/operator/v1/apps/{APP}/bills", None),
    ("POST", f"/operator/v1/apps/{APP}/call-minutes", {"kind": "audio", "minutes": 3, "event_id": "e1", "date": "2026-12-01"}),
    ("GET", "/operator/v1/customers/1/bills", None),
]


def post(path, body, extra=""):
    b = json.dumps(body, separators=(",", ":")).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {len(b)}\r\n\r\n").encode() + b


def write(dir, name, data):
    os.makedirs(dir, exist_ok=True)
    with open(os.path.join(dir, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


D = "tests/fuzz/corpus/fuzz_http"
for route, body in V4.items():
    write(D, "v4_" + route.replace("/", "_"), post(f"/v4/{route}?{Q}", body))
auth = f"Authorization: Bearer {TOKEN}\r\n"
for i, (m, path, body) in enumerate(OP):
    name = "op_%02d_%s" % (i, m.lower())
    if body is None: write(D, name, f"GET {path} HTTP/1.1\r\nHost: x\r\n{auth}\r\n")
    else: write(D, name, post(path, body, auth))
write(D, "healthz", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
# a write and then reads on one pipelined connection, the last one chunked
pipe = post(f"/v4/openim/sendmsg?{Q}", V4["openim/sendmsg"]) + post(f"/v4/openim/admin_getroammsg?{Q}", V4["openim/admin_getroammsg"])
cb = json.dumps(V4["openim/get_c2c_unread_msg_num"]).encode()
pipe += (f"POST /v4/openim/get_c2c_unread_msg_num?{Q} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         f"{len(cb):x}\r\n").encode() + cb + b"\r\n0\r\n\r\n"
write(D, "v4_pipelined", pipe)

DICT = ['"POST "', '"GET "', '" HTTP/1.1\\x0d\\x0a"', '"\\x0d\\x0a"', '"Host: x\\x0d\\x0a"', '"Content-Length: "',
        '"Transfer-Encoding: chunked\\x0d\\x0a"', '"Authorization: Bearer "', '"%s"' % TOKEN, '"%s"' % SIG,
        '"sdkappid=%d"' % APP, '"&identifier=administrator"', '"&usersig="', '"&random="', '"&contenttype=json"',
        '"/v4/"', '"/operator/v1/"', '"/healthz"', '"/ws"', '"Upgrade: websocket\\x0d\\x0a"']
keys = set()
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items(): keys.add(k); walk(v)
    elif isinstance(o, list):
        for v in o: walk(v)
for route, body in V4.items():
    DICT.append('"%s"' % route); walk(body)
for _, path, body in OP:
    DICT.append('"%s"' % path); walk(body)
DICT += ['"\\"%s\\""' % k for k in sorted(keys)]
with open("tests/fuzz/fuzz_http.dict", "w") as f:
    f.write("# tests/fuzz/seeds.py writes this file\n" + "\n".join(DICT) + "\n")

# ---- client WebSocket ops: messages split at 0xFF ----------------------------
W = "tests/fuzz/corpus/fuzz_client_ws"
OPS = {
    "heartbeat": {"id": 2, "op": "heartbeat"},
    "send": {"id": 3, "op": "send", "to": "user2", "body": TEXT, "msg_seq": 5, "random": 6, "online_only": False,
             "no_unread": False, "no_last_msg": False, "need_receipt": True, "cloud_custom_data": "c",
             "offline_push_info": {"PushFlag": 0}},
    "sync": {"id": 4, "op": "sync", "cursor": 0, "limit": 10},
    "history": {"id": 5, "op": "history", "peer": "user2", "before_seq": 0, "limit": 10},
    "recall": {"id": 6, "op": "recall", "msg_key": "5_6_1700000000"},
    "read": {"id": 7, "op": "read", "peer": "user2", "seq": 1},
    "conversations": {"id": 8, "op": "conversations", "cursor": 0, "limit": 10},
    "pin": {"id": 9, "op": "pin", "peer": "user2", "pinned": True},
    "conv_delete": {"id": 10, "op": "conv_delete", "peer": "user3", "clear": True},
    "typing": {"id": 11, "op": "typing", "to": "user2"},
    "logout": {"id": 12, "op": "logout"},
    "login": {"id": 13, "op": "login", "sdkappid": APP, "user_id": "user1", "usersig": SIG, "platform": "Web", "device_id": "d2"},
}
enc = lambda o: json.dumps(o, separators=(",", ":")).encode()
for name, o in OPS.items():
    write(W, name, enc(o))
write(W, "send_then_reads", b"\xff".join(enc(OPS[k]) for k in ("send", "sync", "history", "read", "conversations", "recall")))
WD = ['"\\xff"', '"\\"op\\":"', '"\\"id\\":"'] + ['"\\"%s\\""' % k for k in OPS]
ks = set()
for o in OPS.values(): walk(o)
WD += ['"\\"%s\\""' % k for k in sorted(keys | {"cursor", "limit", "before_seq", "msg_key", "peer", "pinned", "clear", "seq", "to"})]
WD += ['"user1"', '"user2"', '"user3"', '"TIMTextElem"', '"TIMCustomElem"', '"MsgContent"', '"MsgType"']
with open("tests/fuzz/fuzz_client_ws.dict", "w") as f:
    f.write("# tests/fuzz/seeds.py writes this file\n" + "\n".join(sorted(set(WD))) + "\n")
