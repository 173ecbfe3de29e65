"""ESMS import: feed of validated versions, webhooks with signed, retried deliveries."""
