"""boto3 smoke test of the wormfs S3 listener, at boto3's default settings.

Run by TestBoto3Smoke (integration/s3_boto3_test.go) with:
  WORMFS_S3_ENDPOINT   the listener's URL (https://127.0.0.1:PORT or http://...)
  WORMFS_BUCKET        a bucket name to create
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION
  AWS_CA_BUNDLE        the listener's certificate (https)
Prints one line per check and "OK <n> checks" at the end; exits 1 on the
first failed check.
"""

import datetime
import hashlib
import io
import os
import sys

import boto3
from botocore.exceptions import ClientError

checks = 0


def check(cond, what):
    global checks
    if not cond:
        print("FAIL: " + what, flush=True)
        sys.exit(1)
    checks += 1
    print("ok: " + what, flush=True)


def error_of(fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200


def main():
    endpoint = os.environ["WORMFS_S3_ENDPOINT"]
    bucket = os.environ["WORMFS_BUCKET"]
    s3 = boto3.client("s3", endpoint_url=endpoint)

    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    check(bucket in names, "create_bucket then list_buckets shows %s" % bucket)
    lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    check(lock["ObjectLockEnabled"] == "Enabled", "bucket has Object Lock enabled")

    v1 = s3.put_object(Bucket=bucket, Key="docs/hello.txt", Body=b"hello boto3")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="docs/hello.txt", Body=b"second version")["VersionId"]
    check(v1 and v2 and v1 != v2, "two puts give two version ids")

    body = s3.get_object(Bucket=bucket, Key="docs/hello.txt", VersionId=v1)["Body"].read()
    check(body == b"hello boto3", "get_object of the first version")
    body = s3.get_object(Bucket=bucket, Key="docs/hello.txt")["Body"].read()
    check(body == b"second version", "get_object of the latest")

    vs = s3.list_object_versions(Bucket=bucket, Prefix="docs/")["Versions"]
    got = [(v["VersionId"], v["IsLatest"]) for v in vs]
    check(got == [(v2, True), (v1, False)], "list_object_versions newest first: %s" % got)

    until = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).replace(microsecond=0)
    s3.put_object_retention(Bucket=bucket, Key="docs/hello.txt", VersionId=v1,
                            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until})
    r = s3.get_object_retention(Bucket=bucket, Key="docs/hello.txt", VersionId=v1)["Retention"]
    check(r["Mode"] == "GOVERNANCE" and r["RetainUntilDate"] == until,
          "get_object_retention: %s %s" % (r["Mode"], r["RetainUntilDate"]))

    s3.put_object_legal_hold(Bucket=bucket, Key="docs/hello.txt", VersionId=v2, LegalHold={"Status": "ON"})
    h = s3.get_object_legal_hold(Bucket=bucket, Key="docs/hello.txt", VersionId=v2)["LegalHold"]
    check(h["Status"] == "ON", "get_object_legal_hold: ON")

    head = s3.head_object(Bucket=bucket, Key="docs/hello.txt", VersionId=v1)
    check(head.get("ObjectLockMode") == "GOVERNANCE" and head.get("ObjectLockRetainUntilDate") == until,
          "head_object carries the lock: %s %s" % (head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate")))

    code, status = error_of(s3.delete_object, Bucket=bucket, Key="docs/hello.txt", VersionId=v1)
    check((code, status) == ("AccessDenied", 403), "delete of the GOVERNANCE version: %s %s" % (code, status))
    code, status = error_of(s3.delete_object, Bucket=bucket, Key="docs/hello.txt", VersionId=v2)
    check((code, status) == ("AccessDenied", 403), "delete of the held version: %s %s" % (code, status))
    code, status = error_of(s3.delete_object, Bucket=bucket, Key="docs/hello.txt", VersionId=v2,
                            BypassGovernanceRetention=True)
    check((code, status) == ("AccessDenied", 403), "bypass does not lift a legal hold: %s %s" % (code, status))
    body = s3.get_object(Bucket=bucket, Key="docs/hello.txt", VersionId=v1)["Body"].read()
    check(body == b"hello boto3", "the locked version is intact")

    res = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "docs/hello.txt", "VersionId": v2}]})
    errs = [(e["Key"], e["Code"]) for e in res.get("Errors", [])]
    check(errs == [("docs/hello.txt", "AccessDenied")] and not res.get("Deleted"),
          "delete_objects reports AccessDenied per key: %s" % errs)

    # Multipart through s3transfer at its defaults (8 MiB threshold and parts).
    data = os.urandom(1 << 20) * 12
    s3.upload_fileobj(io.BytesIO(data), bucket, "big/twelve.bin")
    head = s3.head_object(Bucket=bucket, Key="big/twelve.bin")
    check(head["ContentLength"] == len(data) and head["ETag"].strip('"').endswith("-2"),
          "upload_fileobj 12 MiB is multipart: %s %d" % (head["ETag"], head["ContentLength"]))
    out = io.BytesIO()
    s3.download_fileobj(bucket, "big/twelve.bin", out)
    check(hashlib.sha256(out.getvalue()).digest() == hashlib.sha256(data).digest(), "download_fileobj round-trips")

    # A bucket default: every new upload is locked (and boto3's defaults
    # carry the integrity header that a locked upload needs).
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    cfg = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    check(cfg["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 1}, "default retention set: %s" % cfg)
    s3.put_object(Bucket=bucket, Key="docs/defaulted.txt", Body=b"locked by default")
    head = s3.head_object(Bucket=bucket, Key="docs/defaulted.txt")
    check(head.get("ObjectLockMode") == "GOVERNANCE", "a new upload gets the default: %s" % head.get("ObjectLockMode"))
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})

    s3.delete_object(Bucket=bucket, Key="docs/hello.txt", VersionId=v1, BypassGovernanceRetention=True)
    code, status = error_of(s3.head_object, Bucket=bucket, Key="docs/hello.txt", VersionId=v1)
    check(status in (404, 400), "root with bypass deleted the GOVERNANCE version (head: %s %s)" % (code, status))

    print("OK %d checks" % checks, flush=True)


if __name__ == "__main__":
    main()
