"""Email and SMS dispatch through an outbox: record the intent, send once, mark it sent.

The channels (e-mail, SMS, and any registered later) are listed in ``esign.dispatch.registry`` only. Import the
pieces from their modules (``esign.dispatch.outbox``, ``.registry``, ``.email``, ``.sms``, ``.channels``,
``.mailserver``); this package file stays empty so importing the schema does not pull in SMTP or HTTP code.
"""
