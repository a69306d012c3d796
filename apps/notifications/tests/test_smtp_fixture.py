"""The test SMTP server the notification tests read from: it receives, and refuses when told to."""

import smtplib

import pytest
from django.core.mail import send_mail


def test_a_sent_message_arrives_with_its_subject_and_body(smtp_server) -> None:
    send_mail("Hello", "Plain body", "from@example.test", ["to@example.test"])
    [received] = smtp_server.to("to@example.test")
    assert received.subject == "Hello"
    assert "Plain body" in received.text()


def test_a_refused_address_is_a_permanent_failure(smtp_server) -> None:
    smtp_server.refuse("gone@example.test")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as error:
        send_mail("Hello", "Body", "from@example.test", ["gone@example.test"])
    assert error.value.recipients["gone@example.test"][0] == 550
    assert smtp_server.messages == []


def test_a_temporary_failure_is_a_4xx(smtp_server) -> None:
    smtp_server.fail_next(1)
    with pytest.raises(smtplib.SMTPDataError) as error:
        send_mail("Hello", "Body", "from@example.test", ["to@example.test"])
    assert error.value.smtp_code == 451
    send_mail("Again", "Body", "from@example.test", ["to@example.test"])
    assert [m.subject for m in smtp_server.messages] == ["Again"]
