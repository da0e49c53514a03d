import SriovRender
import Synchronization

/// The last ``SriovRender/AdmissionValidator`` built, under the key of what it was built from.
///
/// Building a validator copies and indexes the whole cache (5,000 Nodes and NodeStates: milliseconds), and
/// every policy review needs one; the cache changes far less often than reviews arrive. A review whose key
/// equals the remembered one reuses the validator (a value: the caller may change its copy); any other key
/// rebuilds it, once. The build runs under the lock, so fifty reviews arriving after a change wait for one
/// build instead of running fifty. It is synchronous and never awaits.
final class ValidatorMemo<Key: Hashable & Sendable>: Sendable {
    private struct Entry: Sendable {
        var key: Key
        var validator: AdmissionValidator
    }

    private let last = Mutex<Entry?>(nil)

    init() {}

    /// The validator remembered for `key`, or the one `build` makes (which is then remembered instead).
    func validator(for key: Key, build: () -> AdmissionValidator) -> AdmissionValidator {
        self.last.withLock { last in
            if let last, last.key == key { return last.validator }
            let validator = build()
            last = Entry(key: key, validator: validator)
            return validator
        }
    }
}
