"""Email and SMS dispatch through an outbox: record the intent, send once, mark it sent.

Import the pieces from their modules (``esign.dispatch.outbox``, ``.email``, ``.sms``, ``.channels``,
``.mailserver``); this package file stays empty so importing the schema does not pull in SMTP or HTTP code.
"""
