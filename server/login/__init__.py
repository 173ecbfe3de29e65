"""The login routes: tokens issued to people (throttled, traced) and who is logged in."""
