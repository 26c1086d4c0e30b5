"""The AWS region flowtui's clients use when no flag or config names one.

The AWS CLI v2 and the SDKs read AWS_REGION before AWS_DEFAULT_REGION; botocore (boto3,
aiobotocore) reads only AWS_DEFAULT_REGION, then the profile's region. Every client
flowtui makes takes its region from :func:`region_for`, so all of them agree.
No botocore import here: the inventory loads it only when it calls AWS.
"""

from __future__ import annotations

import os

# Where a region comes from when no flag or config names one, for messages and --help.
REGION_SOURCES = "AWS_REGION, AWS_DEFAULT_REGION or the profile's region"


def region_for(explicit: str | None) -> str | None:
    """``explicit`` (a flag, the config), else AWS_REGION; None leaves AWS_DEFAULT_REGION and the profile to botocore."""
    return explicit or os.environ.get("AWS_REGION") or None
