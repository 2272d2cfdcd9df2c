"""Support packets: built as a streaming zip with every secret redacted and proven gone (leak gate, manifest),
and Mattermost's own packets read and analysed offline."""
