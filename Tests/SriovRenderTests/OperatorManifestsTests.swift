import Foundation
import KubeCore
import SriovAPI
import Testing

@testable import SriovRender

// MARK: - Helpers

private let namespace = "sriov-test"
private let image = ImageSettings(image: "registry.example/sriov:v9", imagePullPolicy: .always)

private func dig(_ value: JSONValue?, _ path: String...) -> JSONValue? {
    var current = value
    for key in path { current = current?[key] }
    return current
}

private func strings(_ value: JSONValue?) -> [String] {
    (value?.arrayValue ?? []).compactMap(\.stringValue)
}

private func options(
    prefix: String = "openshift.io",
    _ configure: (inout SriovOperatorConfig.Spec) -> Void = { _ in }
) -> RenderOptions {
    var config = SriovOperatorConfig(metadata: ObjectMeta(name: "default", namespace: namespace))
    configure(&config.spec)
    return RenderOptions(namespace: namespace, resourcePrefix: prefix, operatorConfig: config)
}

private func podSpec(_ workload: JSONValue) -> JSONValue? { dig(workload, "spec", "template", "spec") }

private func containers(_ workload: JSONValue, _ key: String = "containers") -> [JSONValue] {
    dig(podSpec(workload), key)?.arrayValue ?? []
}

private func container(_ workload: JSONValue) throws -> JSONValue {
    try #require(containers(workload).first)
}

private func envNames(_ container: JSONValue) -> [String] {
    (container["env"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
}

private func env(_ container: JSONValue, _ name: String) -> JSONValue? {
    container["env"]?.arrayValue?.first { $0["name"]?.stringValue == name }
}

private func yaml(_ objects: [JSONValue]) -> String {
    objects.map { YAMLWriter.string($0) }.joined(separator: "---\n")
}

private func allObjects() -> [JSONValue] {
    OperatorManifests.all(namespace: namespace, resourcePrefix: "example.com", image: image)
}

private func object(_ objects: [JSONValue], kind: String, name: String) throws -> JSONValue {
    try #require(objects.first { $0["kind"]?.stringValue == kind && dig($0, "metadata", "name")?.stringValue == name })
}

private func rules(_ objects: [JSONValue], kind: String, name: String) throws -> [JSONValue] {
    try #require(try object(objects, kind: kind, name: name)["rules"]?.arrayValue)
}

/// Whether some rule grants `verb` on `resource` of `group`.
private func grants(_ rules: [JSONValue], _ group: String, _ resource: String, _ verb: String) -> Bool {
    rules.contains {
        strings($0["apiGroups"]).contains(group) && strings($0["resources"]).contains(resource)
            && strings($0["verbs"]).contains(verb)
    }
}

// MARK: - Operator manifests

@Suite("operator install manifests")
struct OperatorManifestsTests {
    @Test("all: CRDs first, then Namespace, ServiceAccounts, RBAC, the Deployment and the default SriovOperatorConfig")
    func order() {
        let kinds = allObjects().map { $0["kind"]?.stringValue ?? "" }
        let crdCount = CustomResourceDefinitions.all.count
        #expect(crdCount == 7)
        #expect(kinds.prefix(crdCount).allSatisfy { $0 == "CustomResourceDefinition" })
        #expect(
            Array(kinds.dropFirst(crdCount)) == [
                "Namespace", "ServiceAccount", "ServiceAccount", "ServiceAccount",
                "ClusterRole", "ClusterRole", "ClusterRoleBinding", "ClusterRoleBinding",
                "Role", "Role", "Role", "RoleBinding", "RoleBinding", "RoleBinding",
                "Deployment", "SriovOperatorConfig",
            ]
        )
    }

    @Test("all with admission controllers: after the config, exactly the webhook objects the operator keeps for it")
    func allWithWebhooks() throws {
        let objects = OperatorManifests.all(
            namespace: namespace,
            resourcePrefix: "example.com",
            image: image,
            admissionControllers: true
        )
        let configIndex = try #require(objects.firstIndex { $0["kind"] == "SriovOperatorConfig" })
        #expect(objects[configIndex]["spec"] == ["enableInjector": true, "enableOperatorWebhook": true, "logLevel": 2])
        let webhook = Array(objects[(configIndex + 1)...])
        // The operator's WebhookDeployer renders from the config it reads with these same two calls.
        let config = try ValueDecoder(rejectsUnknownFields: false)
            .decode(SriovOperatorConfig.self, from: objects[configIndex])
        #expect(
            webhook == WebhookManifests.all(WebhookManifests.options(for: config, namespace: namespace, image: image))
        )
        #expect(
            webhook.map { "\($0["kind"]?.stringValue ?? "")/\(dig($0, "metadata", "name")?.stringValue ?? "")" } == [
                "ServiceAccount/operator-webhook", "ClusterRole/operator-webhook",
                "ClusterRoleBinding/operator-webhook", "Role/operator-webhook", "RoleBinding/operator-webhook",
                "Deployment/operator-webhook", "Service/operator-webhook-service",
                "ValidatingWebhookConfiguration/sriov-operator-webhook-config",
                "MutatingWebhookConfiguration/sriov-operator-webhook-config",
                "MutatingWebhookConfiguration/network-resources-injector-config",
            ]
        )
        let deployment = try object(webhook, kind: "Deployment", name: "operator-webhook")
        #expect(dig(deployment, "metadata", "namespace") == .string(namespace))
        #expect(try container(deployment)["image"] == .string(image.image))
        // Without admission controllers (the default, as upstream's chart): none of them.
        #expect(allObjects().last?["kind"] == "SriovOperatorConfig")
        #expect(!allObjects().contains { $0["kind"] == "MutatingWebhookConfiguration" || $0["kind"] == "Service" })
    }

    @Test("only one part enabled in the config: the server and that part's configurations")
    func webhookObjectsPerPart() throws {
        func kinds(injector: Bool, operatorWebhook: Bool) -> [String] {
            let config: JSONValue = [
                "apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovOperatorConfig",
                "metadata": ["name": "default", "namespace": .string(namespace)],
                "spec": ["enableInjector": .bool(injector), "enableOperatorWebhook": .bool(operatorWebhook)],
            ]
            return OperatorManifests.webhookObjects(for: config, namespace: namespace, image: image).map {
                "\($0["kind"]?.stringValue ?? "")/\(dig($0, "metadata", "name")?.stringValue ?? "")"
            }
        }
        let server = [
            "ServiceAccount/operator-webhook", "ClusterRole/operator-webhook", "ClusterRoleBinding/operator-webhook",
            "Role/operator-webhook", "RoleBinding/operator-webhook",
            "Deployment/operator-webhook", "Service/operator-webhook-service",
        ]
        #expect(kinds(injector: false, operatorWebhook: false) == [])
        #expect(
            kinds(injector: true, operatorWebhook: false) == server + [
                "MutatingWebhookConfiguration/network-resources-injector-config"
            ]
        )
        #expect(
            kinds(injector: false, operatorWebhook: true) == server + [
                "ValidatingWebhookConfiguration/sriov-operator-webhook-config",
                "MutatingWebhookConfiguration/sriov-operator-webhook-config",
            ]
        )
    }

    @Test("every object reads back through ManifestReader, from Go JSON and from YAML, as the same object")
    func readBack() throws {
        let objects = allObjects()
        let fromJSON = try objects.flatMap { try ManifestReader.parse(GoJSON.encode($0), file: "rendered.json") }
        let fromYAML = try ManifestReader.parse(yaml(objects), file: "rendered.yaml")
        #expect(fromJSON.map(\.value) == objects)
        #expect(fromYAML.map(\.value) == objects)
        #expect(fromYAML.map(\.kind) == objects.map { $0["kind"]?.stringValue ?? "" })
    }

    @Test("keys come in the order kubectl users expect, and namespaced objects are in the operator namespace")
    func keyOrderAndNamespace() {
        let clusterScoped: Set = ["CustomResourceDefinition", "Namespace", "ClusterRole", "ClusterRoleBinding"]
        for object in allObjects() {
            let keys = object.objectValue?.keys ?? []
            #expect(Array(keys.prefix(3)) == ["apiVersion", "kind", "metadata"])
            let kind = object["kind"]?.stringValue ?? ""
            // CRDs keep controller-gen's sorted keys (annotations before name).
            if kind != "CustomResourceDefinition" {
                #expect(dig(object, "metadata")?.objectValue?.keys.first == "name", "\(kind)")
            }
            let ns = dig(object, "metadata", "namespace")?.stringValue
            #expect(ns == (clusterScoped.contains(kind) ? nil : namespace), "\(kind)")
            #expect(dig(object, "metadata", "ownerReferences") == nil)
        }
    }

    @Test("the namespace admits the privileged config daemon")
    func namespaceObject() throws {
        let ns = try object(allObjects(), kind: "Namespace", name: namespace)
        #expect(dig(ns, "metadata", "labels", "pod-security.kubernetes.io/enforce") == "privileged")
    }

    @Test("the operator Deployment runs one unprivileged `sriov operator` with env, ports, probes and requests")
    func deployment() throws {
        let deployment = try object(allObjects(), kind: "Deployment", name: "sriov-network-operator")
        #expect(dig(deployment, "spec", "replicas") == 1)
        #expect(dig(deployment, "spec", "selector") == ["matchLabels": ["app": "sriov-network-operator"]])
        #expect(dig(podSpec(deployment), "serviceAccountName") == "sriov-network-operator")
        #expect(dig(podSpec(deployment), "securityContext", "runAsNonRoot") == true)
        #expect(dig(podSpec(deployment), "hostNetwork") == nil)
        let expected: JSONValue = [
            "name": "sriov-network-operator",
            "image": "registry.example/sriov:v9",
            "imagePullPolicy": "Always",
            "command": ["sriov", "operator"],
            "env": [
                ["name": "NAMESPACE", "valueFrom": ["fieldRef": ["fieldPath": "metadata.namespace"]]],
                ["name": "RESOURCE_PREFIX", "value": "example.com"],
                ["name": "OPERATOR_NAME", "value": "sriov-network-operator"],
                ["name": "SRIOV_IMAGE", "value": "registry.example/sriov:v9"],
                ["name": "SRIOV_IMAGE_PULL_POLICY", "value": "Always"],
                ["name": "POD_NAME", "valueFrom": ["fieldRef": ["fieldPath": "metadata.name"]]],
            ],
            "ports": [
                ["name": "metrics", "containerPort": 8080, "protocol": "TCP"],
                ["name": "health", "containerPort": 8081, "protocol": "TCP"],
            ],
            "livenessProbe": [
                "httpGet": ["path": "/healthz", "port": 8081], "initialDelaySeconds": 15, "periodSeconds": 20,
            ],
            "readinessProbe": [
                "httpGet": ["path": "/readyz", "port": 8081], "initialDelaySeconds": 5, "periodSeconds": 10,
            ],
            "resources": ["requests": ["cpu": "100m", "memory": "100Mi"]],
            "securityContext": [
                "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": ["drop": ["ALL"]],
            ],
        ]
        #expect(try container(deployment) == expected)
    }

    @Test("the default SriovOperatorConfig is upstream's: no injector, no webhook, log level 2, no node selector")
    func defaultConfig() throws {
        let value = OperatorManifests.defaultOperatorConfig(namespace: namespace)
        #expect(value["spec"] == ["enableInjector": false, "enableOperatorWebhook": false, "logLevel": 2])
        let document = try #require(try ManifestReader.parse(GoJSON.encode(value), file: "config.json").first)
        let config = try document.decode(SriovOperatorConfig.self)
        #expect(config.metadata.name == SriovOperatorConfig.defaultName)
        #expect(config.metadata.namespace == namespace)
        #expect(config.spec == SriovOperatorConfig.Spec(logLevel: 2))
        #expect(
            RenderOptions(namespace: namespace, operatorConfig: config).managedNodeSelector["kubernetes.io/os"]
                == "linux"
        )
    }

    @Test("the operator may evict pods for drains; the config daemon may not")
    func eviction() throws {
        let objects = allObjects()
        let operatorRules = try rules(objects, kind: "ClusterRole", name: "sriov-network-operator")
        #expect(grants(operatorRules, "", "pods/eviction", "create"))
        #expect(grants(operatorRules, "", "pods", "delete"))
        #expect(grants(operatorRules, "", "nodes", "patch"))
        #expect(grants(operatorRules, "policy", "poddisruptionbudgets", "list"))
        #expect(grants(operatorRules, "k8s.cni.cncf.io", "network-attachment-definitions", "create"))
        for resource in ["sriovnetworks", "sriovibnetworks", "ovsnetworks"] {
            #expect(grants(operatorRules, sriovGroup, resource, "update"))
            #expect(grants(operatorRules, sriovGroup, "\(resource)/status", "patch"))
            #expect(grants(operatorRules, sriovGroup, "\(resource)/finalizers", "update"))
        }
        for name in ["sriov-network-config-daemon"] {
            let daemonRules =
                try rules(objects, kind: "ClusterRole", name: name) + rules(objects, kind: "Role", name: name)
            #expect(!grants(daemonRules, "", "pods/eviction", "create"))
            #expect(grants(daemonRules, "", "nodes", "patch"))
            #expect(grants(daemonRules, sriovGroup, "sriovnetworknodestates/status", "update"))
            #expect(grants(daemonRules, "", "pods", "delete"))
            #expect(grants(daemonRules, "", "configmaps", "get"))
        }
        let pluginRules = try rules(objects, kind: "Role", name: "sriov-device-plugin")
        #expect(!grants(pluginRules, "", "pods", "delete"))
    }

    @Test("the operator's Role covers its namespace: ConfigMaps, DaemonSets, every SR-IOV kind, Leases, Services")
    func operatorRole() throws {
        let roleRules = try rules(allObjects(), kind: "Role", name: "sriov-network-operator")
        #expect(grants(roleRules, "", "configmaps", "update"))
        #expect(grants(roleRules, "apps", "daemonsets", "create"))
        #expect(grants(roleRules, "coordination.k8s.io", "leases", "update"))
        #expect(grants(roleRules, "", "services", "create"))
        #expect(grants(roleRules, "", "secrets", "watch"))
        #expect(!grants(roleRules, "", "secrets", "update"))
        for kind in CustomResourceDefinitions.definitions {
            #expect(grants(roleRules, sriovGroup, kind.plural, "delete"))
            #expect(grants(roleRules, sriovGroup, "\(kind.plural)/status", "update"))
        }
    }

    @Test("no rule uses `*` for verbs, resources or groups")
    func noWildcards() {
        for object in allObjects() {
            for rule in object["rules"]?.arrayValue ?? [] {
                let all = strings(rule["verbs"]) + strings(rule["resources"]) + strings(rule["apiGroups"])
                #expect(!all.contains { $0.contains("*") }, "\(GoJSON.encode(rule))")
                #expect(!strings(rule["verbs"]).isEmpty)
            }
        }
    }

    @Test("each binding names a role and a ServiceAccount that the manifests define")
    func bindings() throws {
        let objects = allObjects()
        let accounts = objects.filter { $0["kind"] == "ServiceAccount" }.compactMap { dig($0, "metadata", "name") }
        #expect(accounts == ["sriov-network-operator", "sriov-network-config-daemon", "sriov-device-plugin"])
        let bindings = objects.filter { ["RoleBinding", "ClusterRoleBinding"].contains($0["kind"]?.stringValue) }
        #expect(bindings.count == 5)
        for binding in bindings {
            let ref = try #require(binding["roleRef"])
            let roleKind = try #require(ref["kind"]?.stringValue)
            let roleName = try #require(ref["name"]?.stringValue)
            _ = try object(objects, kind: roleKind, name: roleName)
            let subject = try #require(binding["subjects"]?.arrayValue?.first)
            #expect(subject["kind"] == "ServiceAccount")
            #expect(subject["namespace"] == .string(namespace))
            #expect(accounts.contains(try #require(subject["name"])))
        }
    }

    @Test("image settings default to the project image, and come from SRIOV_IMAGE / SRIOV_IMAGE_PULL_POLICY")
    func imageSettings() throws {
        #expect(
            ImageSettings()
                == ImageSettings(image: "ghcr.io/sriov-operator/sriov:latest", imagePullPolicy: .ifNotPresent)
        )
        #expect(try ImageSettings(environment: [:]) == ImageSettings())
        #expect(try ImageSettings(environment: ["SRIOV_IMAGE": ""]) == ImageSettings())
        let set = try ImageSettings(environment: ["SRIOV_IMAGE": "r/s:1", "SRIOV_IMAGE_PULL_POLICY": "Never"])
        #expect(set == ImageSettings(image: "r/s:1", imagePullPolicy: .never))
        #expect(throws: ImageSettings.EnvironmentError.self) {
            try ImageSettings(environment: ["SRIOV_IMAGE_PULL_POLICY": "sometimes"])
        }
        do {
            _ = try ImageSettings(environment: ["SRIOV_IMAGE_PULL_POLICY": "sometimes"])
        } catch {
            #expect(
                error.description == #"SRIOV_IMAGE_PULL_POLICY="sometimes" is not one of Always, IfNotPresent, Never"#
            )
        }
    }
}

// MARK: - DaemonSets

extension OperatorManifestsTests {
    @Suite("config-daemon and device-plugin DaemonSets")
    struct DaemonSetRendererTests {
        @Test("config daemon: privileged `sriov daemon` with host network, PID and `/` at /host on the managed nodes")
        func configDaemonDefaults() throws {
            let ds = DaemonSetRenderer.configDaemon(options: options(), image: image)
            #expect(ds.objectValue?.keys == ["apiVersion", "kind", "metadata", "spec"])
            #expect(ds["kind"] == "DaemonSet")
            #expect(dig(ds, "metadata", "name") == "sriov-network-config-daemon")
            #expect(dig(ds, "metadata", "namespace") == .string(namespace))
            #expect(dig(ds, "metadata", "ownerReferences") == nil)
            let labels: JSONValue = [
                "app": "sriov-network-config-daemon", "component": "network", "openshift.io/component": "network",
            ]
            #expect(dig(ds, "metadata", "labels") == labels)
            #expect(dig(ds, "spec", "template", "metadata", "labels") == labels)
            #expect(dig(ds, "spec", "selector", "matchLabels") == ["app": "sriov-network-config-daemon"])
            let pod = try #require(podSpec(ds))
            #expect(pod["serviceAccountName"] == "sriov-network-config-daemon")
            #expect(pod["hostNetwork"] == true)
            #expect(pod["hostPID"] == true)
            #expect(pod["nodeSelector"] == ["kubernetes.io/os": "linux", "node-role.kubernetes.io/worker": ""])
            #expect(pod["tolerations"] == [["operator": "Exists"]])
            #expect(
                pod["volumes"] == [
                    ["name": "host", "hostPath": ["path": "/"]],
                    ["name": "cni-bin", "hostPath": ["path": "/opt/cni/bin", "type": "DirectoryOrCreate"]],
                ]
            )
            let installer = try #require(containers(ds, "initContainers").first)
            #expect(installer["command"] == ["sriov", "install-cni"])
            #expect(strings(installer["args"]) == ["--cni-bin-dir", "/host/opt/cni/bin"])
            #expect(installer["volumeMounts"] == [["name": "cni-bin", "mountPath": "/host/opt/cni/bin"]])
            let main = try container(ds)
            #expect(main["image"] == "registry.example/sriov:v9")
            #expect(main["imagePullPolicy"] == "Always")
            #expect(main["command"] == ["sriov", "daemon"])
            #expect(main["args"] == nil)
            #expect(main["securityContext"] == ["privileged": true])
            #expect(main["volumeMounts"] == [["name": "host", "mountPath": "/host"]])
            #expect(envNames(main) == ["NODE_NAME", "NAMESPACE", "CLUSTER_TYPE", "DEV_MODE"])
            #expect(env(main, "NODE_NAME")?["valueFrom"] == ["fieldRef": ["fieldPath": "spec.nodeName"]])
            #expect(env(main, "NAMESPACE")?["valueFrom"] == ["fieldRef": ["fieldPath": "metadata.namespace"]])
            #expect(env(main, "CLUSTER_TYPE")?["value"] == "kubernetes")
            #expect(env(main, "DEV_MODE")?["value"] == "FALSE")
            let dev = DaemonSetRenderer.configDaemon(options: options(), image: image, devMode: true)
            #expect(env(try container(dev), "DEV_MODE")?["value"] == "TRUE")
        }

        @Test("configDaemonNodeSelector replaces the default node set of both DaemonSets")
        func nodeSelector() throws {
            let opts = options { $0.configDaemonNodeSelector = ["zone": "b", "sriov": "yes"] }
            let daemon = DaemonSetRenderer.configDaemon(options: opts, image: image)
            #expect(dig(podSpec(daemon), "nodeSelector") == ["sriov": "yes", "zone": "b"])
            let plugin = DaemonSetRenderer.devicePlugin(options: opts, image: image)
            #expect(
                dig(podSpec(plugin), "nodeSelector") == [
                    "sriov": "yes", "zone": "b", "sriovnetwork.openshift.io/device-plugin": "Enabled",
                ]
            )
        }

        @Test("configDaemonEnvVars follow the built-in env sorted by name, and replace a built-in of the same name")
        func envVars() throws {
            let opts = options {
                $0.configDaemonEnvVars = ["ZED": "1", "HTTP_PROXY": "http://p:3128", "DEV_MODE": "TRUE"]
            }
            let main = try container(DaemonSetRenderer.configDaemon(options: opts, image: image))
            #expect(envNames(main) == ["NODE_NAME", "NAMESPACE", "CLUSTER_TYPE", "DEV_MODE", "HTTP_PROXY", "ZED"])
            #expect(env(main, "DEV_MODE") == ["name": "DEV_MODE", "value": "TRUE"])
            #expect(env(main, "HTTP_PROXY") == ["name": "HTTP_PROXY", "value": "http://p:3128"])
        }

        @Test(
            "config daemon flags follow configurationMode, disablePlugins and the feature gates",
            arguments: [
                (["mode": "systemd"], ["--use-systemd-service"]),
                (["mode": "daemon"], []),
                (["plugins": "mellanox"], ["--disable-plugins=mellanox"]),
                (["plugins": "mellanox,intel"], ["--disable-plugins=mellanox,intel"]),
                (["gate": "parallelNicConfig"], ["--parallel-nic-config"]),
                (["gate": "manageSoftwareBridges"], ["--manage-software-bridges"]),
                (["gate": "blockDevicePluginUntilConfigured"], []),
                (
                    ["mode": "systemd", "plugins": "mellanox", "gate": "manageSoftwareBridges"],
                    ["--use-systemd-service", "--disable-plugins=mellanox", "--manage-software-bridges"]
                ),
            ]
        )
        func daemonFlags(knobs: [String: String], expected: [String]) throws {
            let opts = options {
                $0.configurationMode = knobs["mode"] ?? ""
                $0.disablePlugins = knobs["plugins"].map { $0.split(separator: ",").map(String.init) } ?? []
                if let gate = knobs["gate"] { $0.featureGates = [gate: true] }
            }
            let main = try container(DaemonSetRenderer.configDaemon(options: opts, image: image))
            #expect(strings(main["args"]) == expected)
        }

        @Test("component images and commands from the environment replace the sriov binary's, one by one")
        func componentOverrides() throws {
            let components = ComponentImages(environment: [
                "SRIOV_NETWORK_CONFIG_DAEMON_IMAGE": "quay.io/x/config-daemon:v1",
                "SRIOV_NETWORK_CONFIG_DAEMON_COMMAND": "sriov-network-config-daemon start",
                "SRIOV_DEVICE_PLUGIN_IMAGE": "quay.io/x/dp:v1", "SRIOV_DEVICE_PLUGIN_COMMAND": " /usr/bin/sriovdp ",
                "SRIOV_CNI_IMAGE": "quay.io/x/cni:v1", "SRIOV_CNI_COMMAND": "",
            ])
            let daemon = DaemonSetRenderer.configDaemon(options: options(), image: image, components: components)
            #expect(try container(daemon)["image"] == "quay.io/x/config-daemon:v1")
            #expect(try container(daemon)["command"] == ["sriov-network-config-daemon", "start"])
            let installer = try #require(containers(daemon, "initContainers").first)
            #expect(installer["image"] == "quay.io/x/cni:v1")
            #expect(installer["command"] == ["sriov", "install-cni"])
            let plugin = DaemonSetRenderer.devicePlugin(options: options(), image: image, components: components)
            #expect(try container(plugin)["image"] == "quay.io/x/dp:v1")
            #expect(try container(plugin)["command"] == ["/usr/bin/sriovdp"])
            #expect(ComponentImages(environment: [:]) == ComponentImages())
        }

        @Test("a gate turned off explicitly drops its flag")
        func gateOff() throws {
            let opts = options { $0.featureGates = ["parallelNicConfig": false, "manageSoftwareBridges": false] }
            #expect(try container(DaemonSetRenderer.configDaemon(options: opts, image: image))["args"] == nil)
        }

        @Test(
            "device plugin: `sriov device-plugin` reading /etc/pcidp/$(NODE_NAME), gated by wait-for-config by default"
        )
        func devicePluginDefaults() throws {
            let ds = DaemonSetRenderer.devicePlugin(options: options(), image: image)
            #expect(ds.objectValue?.keys == ["apiVersion", "kind", "metadata", "spec"])
            #expect(dig(ds, "metadata", "name") == "sriov-device-plugin")
            #expect(dig(ds, "metadata", "ownerReferences") == nil)
            #expect(dig(ds, "spec", "template", "metadata", "labels", "app") == "sriov-device-plugin")
            #expect(dig(ds, "spec", "template", "metadata", "labels", "openshift.io/component") == "network")
            let pod = try #require(podSpec(ds))
            #expect(pod["serviceAccountName"] == "sriov-device-plugin")
            #expect(pod["hostNetwork"] == true)
            #expect(pod["hostPID"] == nil)
            #expect(
                pod["nodeSelector"] == [
                    "kubernetes.io/os": "linux", "node-role.kubernetes.io/worker": "",
                    "sriovnetwork.openshift.io/device-plugin": "Enabled",
                ]
            )
            let main = try container(ds)
            #expect(main["command"] == ["sriov", "device-plugin"])
            #expect(
                strings(main["args"]) == ["--config-file=/etc/pcidp/$(NODE_NAME)", "--resource-prefix=openshift.io"]
            )
            #expect(envNames(main) == ["NODE_NAME"])
            #expect(main["securityContext"] == ["privileged": true])
            let mounts = Dictionary(
                uniqueKeysWithValues: (main["volumeMounts"]?.arrayValue ?? []).compactMap { mount in
                    mount["name"]?.stringValue.map { ($0, mount["mountPath"]?.stringValue ?? "") }
                }
            )
            #expect(
                mounts == [
                    "devicesock": "/var/lib/kubelet/device-plugins",
                    "plugins-registry": "/var/lib/kubelet/plugins_registry",
                    "pod-resources": "/var/lib/kubelet/pod-resources", "sys": "/sys", "dev": "/dev",
                    "config-volume": "/etc/pcidp", "device-info": "/var/run/k8s.cni.cncf.io/devinfo",
                    "host": "/host",
                ]
            )
            #expect(
                main["volumeMounts"]?.arrayValue?.contains(["name": "host", "mountPath": "/host", "readOnly": true])
                    == true
            )
            let volumes = pod["volumes"]?.arrayValue ?? []
            #expect(volumes.contains(["name": "config-volume", "configMap": ["name": "device-plugin-config"]]))
            #expect(
                volumes.contains([
                    "name": "device-info",
                    "hostPath": ["path": "/var/run/k8s.cni.cncf.io/devinfo", "type": "DirectoryOrCreate"],
                ])
            )
            #expect(Set(volumes.compactMap { $0["name"]?.stringValue }) == Set(mounts.keys))
            let waiter = try #require(containers(ds, "initContainers").first)
            #expect(waiter["command"] == ["sriov", "wait-for-config"])
            #expect(waiter["image"] == "registry.example/sriov:v9")
            #expect(envNames(waiter) == ["NODE_NAME", "POD_NAME", "NAMESPACE"])
            #expect(
                dig(ds, "spec", "template", "metadata", "annotations") == [
                    "sriovnetwork.openshift.io/device-plugin-wait-config": "true"
                ]
            )
        }

        @Test("without blockDevicePluginUntilConfigured there is no init container and no wait annotation")
        func devicePluginUngated() {
            let opts = options { $0.featureGates = ["blockDevicePluginUntilConfigured": false] }
            let ds = DaemonSetRenderer.devicePlugin(options: opts, image: image)
            #expect(dig(podSpec(ds), "initContainers") == nil)
            #expect(dig(ds, "spec", "template", "metadata", "annotations") == nil)
        }

        @Test("useCDI adds --use-cdi and mounts /var/run/cdi; the resource prefix reaches the flag")
        func devicePluginKnobs() throws {
            let opts = options(prefix: "example.com") { $0.useCDI = true }
            let ds = DaemonSetRenderer.devicePlugin(options: opts, image: image)
            let main = try container(ds)
            #expect(strings(main["args"]).last == "--use-cdi")
            #expect(strings(main["args"]).contains("--resource-prefix=example.com"))
            #expect(main["volumeMounts"]?.arrayValue?.last == ["name": "dynamic-cdi", "mountPath": "/var/run/cdi"])
            #expect(
                dig(podSpec(ds), "volumes")?.arrayValue?.last == [
                    "name": "dynamic-cdi", "hostPath": ["path": "/var/run/cdi", "type": "DirectoryOrCreate"],
                ]
            )
            let off = try container(DaemonSetRenderer.devicePlugin(options: options(), image: image))
            #expect(!strings(off["args"]).contains("--use-cdi"))
        }

        @Test("rendering is deterministic: equal values and identical YAML from equal inputs")
        func deterministic() {
            let opts = options {
                $0.configDaemonNodeSelector = ["a": "1", "b": "2", "c": "3", "d": "4"]
                $0.configDaemonEnvVars = ["X": "1", "Y": "2", "Z": "3", "W": "4"]
            }
            let first = [
                DaemonSetRenderer.configDaemon(options: opts, image: image),
                DaemonSetRenderer.devicePlugin(options: opts, image: image),
            ]
            let second = [
                DaemonSetRenderer.configDaemon(options: opts, image: image),
                DaemonSetRenderer.devicePlugin(options: opts, image: image),
            ]
            #expect(first == second)
            #expect(yaml(first) == yaml(second))
        }
    }

}

// MARK: - kubectl

/// Runs the installed `kubectl` on files (not pipes, so large outputs cannot block it).
private enum Kubectl {
    static let path: String? = {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return directories.map { "\($0)/kubectl" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// A cluster answers (`kubectl apply --dry-run=client` needs discovery even though it changes nothing).
    static let hasCluster: Bool = {
        guard Self.path != nil, let result = try? Self.run(["get", "--raw=/readyz", "--request-timeout=5s"]) else {
            return false
        }
        return result.status == 0
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], input: String = "") throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-kubectl-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputURL = directory.appendingPathComponent("input.yaml")
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        try input.write(to: inputURL, atomically: true, encoding: .utf8)
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.path ?? "/usr/bin/kubectl")
        process.arguments = arguments.map { $0 == "INPUT" ? inputURL.path : $0 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: try String(contentsOf: outURL, encoding: .utf8),
            stderr: try String(contentsOf: errURL, encoding: .utf8)
        )
    }
}

/// Whether every field of `ours` is in `theirs` with the same value (kubectl adds defaults such as
/// `creationTimestamp: null` and `resources: {}`, and drops fields its types do not know).
private func missing(_ ours: JSONValue, in theirs: JSONValue?, path: String = "") -> [String] {
    switch ours {
    case .object(let object):
        return object.flatMap { key, value in missing(value, in: theirs?[key], path: "\(path).\(key)") }
    case .array(let items):
        guard let other = theirs?.arrayValue, other.count == items.count else { return ["\(path): array differs"] }
        return zip(items, other).enumerated().flatMap { missing($1.0, in: $1.1, path: "\(path)[\($0)]") }
    default:
        return ours == theirs ? [] : ["\(path): \(GoJSON.encode(ours)) became \(theirs.map(GoJSON.encode) ?? "absent")"]
    }
}

/// `value` with every container's `image` set to `image`.
private func replacingImages(_ value: JSONValue, with image: String) -> JSONValue {
    switch value {
    case .object(let object):
        return .object(
            JSONObject(
                object.map { key, child in
                    (key: key, value: key == "image" ? .string(image) : replacingImages(child, with: image))
                }
            )
        )
    case .array(let items):
        return .array(items.map { replacingImages($0, with: image) })
    default:
        return value
    }
}

extension OperatorManifestsTests {
    @Suite("manifests against kubectl", .enabled(if: Kubectl.path != nil, "kubectl is not installed"))
    struct KubectlTests {
        @Test("kubectl reads every document of `sriov manifests all` as the object we meant")
        func kubectlReadsAll() throws {
            let objects = allObjects()
            let result = try Kubectl.run(
                ["label", "--local", "-f", "INPUT", "-o", "name", "sriov.test/read=true"],
                input: yaml(objects)
            )
            #expect(result.status == 0, "\(result.stderr)")
            let expected = objects.map { object -> String in
                let kind = (object["kind"]?.stringValue ?? "").lowercased()
                let apiVersion = object["apiVersion"]?.stringValue ?? ""
                let group = apiVersion.contains("/") ? "." + (apiVersion.split(separator: "/").first ?? "") : ""
                return "\(kind)\(group)/\(dig(object, "metadata", "name")?.stringValue ?? "")"
            }
            #expect(result.stdout.split(separator: "\n").map(String.init) == expected)
        }

        @Test("kubectl reads every document of `sriov manifests all` with admission controllers, webhooks included")
        func kubectlReadsAllWithWebhooks() throws {
            let objects = OperatorManifests.all(
                namespace: namespace,
                resourcePrefix: "example.com",
                image: image,
                admissionControllers: true
            )
            let result = try Kubectl.run(
                ["label", "--local", "-f", "INPUT", "-o", "name", "sriov.test/read=true"],
                input: yaml(objects)
            )
            #expect(result.status == 0, "\(result.stderr)")
            let names = result.stdout.split(separator: "\n").map(String.init)
            #expect(names.count == objects.count)
            #expect(
                names.suffix(3) == [
                    "validatingwebhookconfiguration.admissionregistration.k8s.io/sriov-operator-webhook-config",
                    "mutatingwebhookconfiguration.admissionregistration.k8s.io/sriov-operator-webhook-config",
                    "mutatingwebhookconfiguration.admissionregistration.k8s.io/network-resources-injector-config",
                ]
            )
        }

        @Test(
            "kubectl decodes the Deployment and both DaemonSets into its typed objects without losing a field",
            arguments: ["operator", "config-daemon", "device-plugin"]
        )
        func typedWorkloads(_ which: String) throws {
            let opts = options(prefix: "example.com") {
                $0.useCDI = true
                $0.configurationMode = "systemd"
                $0.disablePlugins = ["mellanox"]
                $0.configDaemonEnvVars = ["HTTP_PROXY": "http://proxy:3128"]
                $0.featureGates = ["parallelNicConfig": true]
            }
            let workload: JSONValue
            switch which {
            case "operator": workload = try object(allObjects(), kind: "Deployment", name: "sriov-network-operator")
            case "config-daemon": workload = DaemonSetRenderer.configDaemon(options: opts, image: image)
            default: workload = DaemonSetRenderer.devicePlugin(options: opts, image: image)
            }
            // `set image` makes kubectl decode the object into its Go type offline; it prints nothing unless the image
            // changes, so it swaps in another one, which the expectation swaps in too.
            let changed = "kubectl.invalid/changed:1"
            let result = try Kubectl.run(
                ["set", "image", "--local", "-f", "INPUT", "-o", "json", "*=\(changed)"],
                input: yaml([workload])
            )
            #expect(result.status == 0, "\(result.stderr)")
            let decoded = try #require(try ManifestReader.parse(result.stdout, file: "kubectl.json").first)
            #expect(missing(replacingImages(workload, with: changed), in: decoded.value) == [])
        }

        @Test(
            "kubectl apply --dry-run=client accepts everything but the SriovOperatorConfig",
            .enabled(if: Kubectl.hasCluster)
        )
        func applyDryRun() throws {
            // The SriovOperatorConfig needs its CRD served, which a client-side dry run never creates.
            let objects = allObjects().filter { $0["kind"] != "SriovOperatorConfig" }
            let result = try Kubectl.run(["apply", "--dry-run=client", "-f", "INPUT"], input: yaml(objects))
            #expect(result.status == 0, "\(result.stderr)")
        }
    }
}
