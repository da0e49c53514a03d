/// Admission webhooks and the network-resources injector (issue 13).
