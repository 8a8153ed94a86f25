// Operations features (scheduling, coordination, rate limits, heartbeats, revoke) export from here.
export {}
