/// The SR-IOV device plugin: VF pools advertised to the kubelet (issue 11).
