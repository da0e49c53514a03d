/// The kubelet device-plugin and plugin-registration APIs, generated from protos (issue 11).
