"""Automation rules: triggers on deals and documents, conditions on deal fields, actions in the CRM and outbox."""
