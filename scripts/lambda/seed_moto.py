"""Seeds a moto bucket with a tiny course for the Lambda Runtime API check.

The event files under functions/*/events/ carry the test key below; only its
SHA-256 goes into the bucket, exactly as the trainer's command would store it.
"""
import hashlib
import json
import os
import sys

import boto3

TEST_KEY = "ewk_0123456789abcdef0123456789abcdef01234567"
KEY_HASH = hashlib.sha256(TEST_KEY.encode()).hexdigest()
KEY_RECORD = {"studentId": "student01", "sha256": KEY_HASH, "createdAt": "2026-11-24T10:00:00Z"}


def main(bucket: str) -> None:
    s3 = boto3.client("s3", endpoint_url=os.environ["EWORK_MOTO_URL"], region_name="eu-central-1")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
    )
    objects = {
        "studentsList.json": [
            {"student_id": "student01", "email": "student01@example.com"},
            {"student_id": "student02", "email": "student02@example.com"},
        ],
        "_system/catalog.json": {
            "tests": [
                {
                    "subject": "operating-systems",
                    "testId": "test01",
                    "title": "Processes",
                    "publishedAt": "2026-11-24T10:00:00Z",
                    "dueAt": "2099-11-30T22:00:00Z",
                }
            ]
        },
        # One object per live key, named by its hash (what the API reads), and the
        # student's keyring (what `trainer keys` changes).
        f"_system/keys/{KEY_HASH}": KEY_RECORD,
        "_system/keyring/student01": {"keys": [KEY_RECORD]},
        "operating-systems/test01/questions.json": [
            {"questionId": "1", "question": "What is a kernel?", "answers": [
                {"answerId": "a", "answerBody": "A seed"}, {"answerId": "b", "answerBody": "The core of an OS"}]},
            {"questionId": "2", "question": "What is a process?", "answers": [
                {"answerId": "a", "answerBody": "A program in execution"}, {"answerId": "b", "answerBody": "A file"}]},
        ],
        "operating-systems/test01/questionsKey.json": [
            {"questionId": "1", "answer": "b"},
            {"questionId": "2", "answer": "a"},
        ],
    }
    for key, value in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(value).encode(), ServerSideEncryption="AES256")


if __name__ == "__main__":
    main(sys.argv[1])
