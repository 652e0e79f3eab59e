"""A real S3-compatible server (moto's server mode) on loopback, and fresh buckets on it, for storage tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

ACCESS, SECRET = "test-access-key", "test-secret-key"


@contextmanager
def moto_server() -> Iterator[str]:
    """Run moto's S3 server on 127.0.0.1 and a free port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def client(endpoint: str):
    """A boto3 S3 client of the test server (path-style addresses, the test keys)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )


def new_bucket(endpoint: str) -> str:
    """Create a bucket of a new name on the server; return the name."""
    client_ = client(endpoint)
    name = f"gridmap-{uuid.uuid4().hex[:12]}"
    client_.create_bucket(Bucket=name)
    return name


def s3_settings(endpoint: str, bucket: str, prefix: str = "county") -> dict[str, str]:
    """The settings of a deployment whose shared storage is ``s3://bucket/prefix`` on that server."""
    return {
        "GRIDMAP_STORAGE": f"s3://{bucket}/{prefix}",
        "GRIDMAP_S3_ENDPOINT": endpoint,
        "GRIDMAP_S3_ACCESS_KEY": ACCESS,
        "GRIDMAP_S3_SECRET_KEY": SECRET,
        "GRIDMAP_S3_REGION": "us-east-1",
    }
