/// The SR-IOV CNI plugin: ADD/DEL/CHECK/VERSION (issue 12).
