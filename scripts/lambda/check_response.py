"""Asserts on a Lambda proxy response printed by `cargo lambda invoke`.

Usage: check_response.py RESPONSE_FILE STATUS [NEEDLE ...] [--absent TEXT]
"""
import json
import sys


def main(argv: list) -> None:
    path, status = argv[0], int(argv[1])
    needles, absent = [], []
    rest = argv[2:]
    while rest:
        item = rest.pop(0)
        if item == "--absent":
            absent.append(rest.pop(0))
        else:
            needles.append(item)
    raw = open(path).read()
    response = json.loads(raw)
    assert response["statusCode"] == status, f"status {response['statusCode']} != {status}: {raw}"
    body = json.loads(response["body"])
    assert body["code"] == status, f"code field {body['code']} != {status}"
    text = json.dumps(body)
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text}"
    for gone in absent:
        assert gone not in text, f"{gone!r} must not appear in {text}"
    print(f"ok: {status} {text[:160]}")


if __name__ == "__main__":
    main(sys.argv[1:])
