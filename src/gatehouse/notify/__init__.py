"""Notifications: subscriptions, email, webhooks."""
