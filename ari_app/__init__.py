"""The Asterisk plugin: ARI Stasis application, media transports, AMI."""
