/// The config daemon: makes the node match its SriovNetworkNodeState (issue 10).
