import KubeCore

/// The patch formats the API server accepts, applied to JSON documents.
enum Patch {
    /// RFC 7386 JSON Merge Patch: objects merge recursively, `null` deletes, anything else replaces.
    static func merge(_ target: JSONValue?, _ patch: JSONValue) -> JSONValue {
        guard case .object(let patchObject) = patch else { return patch }
        var result = target?.objectValue ?? JSONObject()
        for (key, value) in patchObject {
            if value == .null {
                result[key] = nil
            } else {
                result[key] = self.merge(result[key], value)
            }
        }
        return .object(result)
    }

    /// A strategic merge patch applied as a merge patch after dropping `$`-directives.
    ///
    /// Simplification: lists with merge keys (`containers` by `name`, …) are replaced rather than
    /// merged, and `$patch`/`$retainKeys`/`$setElementOrder` directives are ignored.
    static func strategicMerge(_ target: JSONValue?, _ patch: JSONValue) -> JSONValue {
        self.merge(target, self.withoutDirectives(patch))
    }

    private static func withoutDirectives(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(
                JSONObject(
                    object.entries.filter { !$0.key.hasPrefix("$") }.map { ($0.key, self.withoutDirectives($0.value)) }
                )
            )
        case .array(let items):
            return .array(items.map(self.withoutDirectives))
        default:
            return value
        }
    }

    /// Why a JSON Patch could not be applied; `isMalformed` separates a bad document (400) from a
    /// failed operation (422), as the real server does.
    struct JSONPatchError: Error {
        var message: String
        var isMalformed: Bool
    }

    /// RFC 6902 JSON Patch: `add`, `remove`, `replace`, `move`, `copy` and `test`, with RFC 6901 pointers.
    static func json(_ document: JSONValue, _ patch: JSONValue) throws(JSONPatchError) -> JSONValue {
        guard case .array(let operations) = patch else {
            throw JSONPatchError(
                message: "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
                isMalformed: true
            )
        }
        var document = document
        for operation in operations {
            guard let op = operation["op"]?.stringValue, let path = operation["path"]?.stringValue else {
                throw JSONPatchError(
                    message: "operation missing op or path: \(GoJSON.encode(operation))",
                    isMalformed: true
                )
            }
            let pointer = try self.pointer(path)
            switch op {
            case "add":
                guard let value = operation["value"] else { throw self.missingValue(op) }
                document = try self.add(value, at: pointer[...], in: document)
            case "remove":
                document = try self.remove(at: pointer[...], in: document).document
            case "replace":
                guard let value = operation["value"] else { throw self.missingValue(op) }
                document = try self.remove(at: pointer[...], in: document).document
                document = try self.add(value, at: pointer[...], in: document)
            case "move", "copy":
                guard let from = operation["from"]?.stringValue else {
                    throw JSONPatchError(message: "\(op) operation missing from", isMalformed: true)
                }
                let fromPointer = try self.pointer(from)
                let value: JSONValue
                if op == "move" {
                    (document, value) = try self.remove(at: fromPointer[...], in: document)
                } else {
                    guard let found = self.value(at: fromPointer, in: document) else {
                        throw JSONPatchError(
                            message: "copy operation does not apply: doc is missing from path: \(from)",
                            isMalformed: false
                        )
                    }
                    value = found
                }
                document = try self.add(value, at: pointer[...], in: document)
            case "test":
                guard let expected = operation["value"] else { throw self.missingValue(op) }
                guard self.value(at: pointer, in: document) == expected else {
                    throw JSONPatchError(message: "testing value \(path) failed: test failed", isMalformed: false)
                }
            default:
                throw JSONPatchError(message: "Unexpected kind: \(op)", isMalformed: true)
            }
        }
        return document
    }

    private static func missingValue(_ op: String) -> JSONPatchError {
        JSONPatchError(message: "\(op) operation missing value", isMalformed: true)
    }

    private static func pointer(_ path: String) throws(JSONPatchError) -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else {
            throw JSONPatchError(message: "JSON pointer \(GoJSON.quote(path)) must start with '/'", isMalformed: true)
        }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).replacing("~1", with: "/").replacing("~0", with: "~")
        }
    }

    static func value(at pointer: [String], in document: JSONValue) -> JSONValue? {
        var current: JSONValue? = document
        for token in pointer {
            switch current {
            case .object(let object)?: current = object[token]
            case .array(let items)?:
                guard let index = Int(token), items.indices.contains(index) else { return nil }
                current = items[index]
            default: return nil
            }
        }
        return current
    }

    private static func add(
        _ value: JSONValue,
        at pointer: ArraySlice<String>,
        in document: JSONValue
    ) throws(JSONPatchError) -> JSONValue {
        guard let token = pointer.first else { return value }
        let rest = pointer.dropFirst()
        switch document {
        case .object(var object):
            if rest.isEmpty {
                object[token] = value
            } else {
                guard let child = object[token] else { throw self.missing(pointer) }
                object[token] = try self.add(value, at: rest, in: child)
            }
            return .object(object)
        case .array(var items):
            if rest.isEmpty {
                if token == "-" {
                    items.append(value)
                } else {
                    guard let index = Int(token), index >= 0, index <= items.count else { throw self.missing(pointer) }
                    items.insert(value, at: index)
                }
            } else {
                guard let index = Int(token), items.indices.contains(index) else { throw self.missing(pointer) }
                items[index] = try self.add(value, at: rest, in: items[index])
            }
            return .array(items)
        default:
            throw self.missing(pointer)
        }
    }

    private static func remove(
        at pointer: ArraySlice<String>,
        in document: JSONValue
    ) throws(JSONPatchError) -> (document: JSONValue, removed: JSONValue) {
        guard let token = pointer.first else { throw self.missing(pointer) }
        let rest = pointer.dropFirst()
        switch document {
        case .object(var object):
            guard let child = object[token] else { throw self.missing(pointer) }
            if rest.isEmpty {
                object[token] = nil
                return (.object(object), child)
            }
            let (updated, removed) = try self.remove(at: rest, in: child)
            object[token] = updated
            return (.object(object), removed)
        case .array(var items):
            guard let index = Int(token), items.indices.contains(index) else { throw self.missing(pointer) }
            if rest.isEmpty {
                let removed = items.remove(at: index)
                return (.array(items), removed)
            }
            let (updated, removed) = try self.remove(at: rest, in: items[index])
            items[index] = updated
            return (.array(items), removed)
        default:
            throw self.missing(pointer)
        }
    }

    private static func missing(_ pointer: ArraySlice<String>) -> JSONPatchError {
        JSONPatchError(
            message: "doc is missing path: \"/\(pointer.joined(separator: "/"))\": missing value",
            isMalformed: false
        )
    }
}
