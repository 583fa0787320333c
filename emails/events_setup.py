"""The SES → SNS → SQS loop, created idempotently (`manage.py setup_ses_events`):

    SES configuration set ──event destination──▶ SNS topic ──subscription──▶ SQS queue (+ DLQ)

The queue policy lets only that topic send to the queue (aws:SourceArn), as the SNS developer
guide's "Subscribing an Amazon SQS queue to an Amazon SNS topic" shows. Every step looks first
and creates or updates, so running it again changes nothing and returns the same resources.
"""

from __future__ import annotations

import json
from typing import Any

from emails import sqs
from project import aws
from project.aws import BOTO_ERRORS

# SES's MatchingEventTypes, all of them: our log records every type.
EVENT_TYPES = [
    "send",
    "reject",
    "bounce",
    "complaint",
    "delivery",
    "open",
    "click",
    "renderingFailure",
    "deliveryDelay",
    "subscription",
]


def _queue_policy(queue_arn: str, topic_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ses-events-from-sns",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        }
    )


def ses_events_setup(
    *,
    queue_name: str,
    dlq_name: str,
    max_receives: int,
    visibility_timeout: int,
    topic_name: str,
    configuration_set: str,
    region: str,
) -> dict[str, str]:
    """Create or bring up to date every piece; returns their URLs and ARNs."""
    queue_url, dlq_url = sqs.queue_ensure(
        name=queue_name,
        region=region,
        dlq_name=dlq_name,
        max_receives=max_receives,
        visibility_timeout=visibility_timeout,
    )
    sns, ses = aws.client("sns", region_name=region), aws.client("ses", region_name=region)
    try:
        queue_arn = sqs.queue_attributes(queue_url=queue_url, region=region)["QueueArn"]
        topic_arn = sns.create_topic(Name=topic_name)["TopicArn"]  # returns the existing one
        sqs.client(region).set_queue_attributes(
            QueueUrl=queue_url, Attributes={"Policy": _queue_policy(queue_arn, topic_arn)}
        )
        subscription_arn = _subscription_ensure(sns, topic_arn, queue_arn)
        _configuration_set_ensure(ses, configuration_set, topic_arn)
    except BOTO_ERRORS as exc:
        raise sqs.SqsError(str(aws.wrap("AWS", "setup", exc))) from exc
    return {
        "queue_url": queue_url,
        "dlq_url": dlq_url,
        "queue_arn": queue_arn,
        "topic_arn": topic_arn,
        "subscription_arn": subscription_arn,
        "configuration_set": configuration_set,
    }


def _subscription_ensure(sns: Any, topic_arn: str, queue_arn: str) -> str:
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for sub in page.get("Subscriptions", []):
            if sub.get("Protocol") == "sqs" and sub.get("Endpoint") == queue_arn:
                return sub["SubscriptionArn"]
    return sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True)[
        "SubscriptionArn"
    ]


def _configuration_set_ensure(ses: Any, name: str, topic_arn: str) -> None:
    names = [c["Name"] for c in ses.list_configuration_sets().get("ConfigurationSets", [])]
    if name not in names:
        ses.create_configuration_set(ConfigurationSet={"Name": name})
    destination = {
        "Name": f"{name}-to-sns",
        "Enabled": True,
        "MatchingEventTypes": EVENT_TYPES,
        "SNSDestination": {"TopicARN": topic_arn},
    }
    found = ses.describe_configuration_set(
        ConfigurationSetName=name, ConfigurationSetAttributeNames=["eventDestinations"]
    ).get("EventDestinations", [])
    ours = [d for d in found if d and d.get("Name") == destination["Name"]]
    if ours and _same(ours[0], destination):
        return  # already as wanted: nothing to change
    if ours:
        ses.update_configuration_set_event_destination(
            ConfigurationSetName=name, EventDestination=destination
        )
    else:
        ses.create_configuration_set_event_destination(
            ConfigurationSetName=name, EventDestination=destination
        )


def _same(found: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return (
        found.get("SNSDestination", {}).get("TopicARN") == wanted["SNSDestination"]["TopicARN"]
        and sorted(found.get("MatchingEventTypes", [])) == sorted(wanted["MatchingEventTypes"])
        and found.get("Enabled", True) == wanted["Enabled"]
    )
