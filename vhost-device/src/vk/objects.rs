//! A table of guest-named objects of one kind: id → object, with the stream's id rules
//! (0 is never valid; creating a live id again is refused).

use std::collections::HashMap;

use super::ExecError;

pub(crate) struct ObjectTable<T> {
    kind: &'static str,
    objects: HashMap<u64, T>,
}

impl<T> ObjectTable<T> {
    pub(crate) fn new(kind: &'static str) -> ObjectTable<T> {
        ObjectTable {
            kind,
            objects: HashMap::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.objects.len()
    }

    /// Checks that `id` may name a new object (non-zero, not live).
    pub(crate) fn check_new(&self, id: u64) -> Result<(), ExecError> {
        if id == 0 {
            return Err(ExecError::ZeroId(self.kind));
        }
        if self.objects.contains_key(&id) {
            return Err(ExecError::DuplicateId {
                kind: self.kind,
                id,
            });
        }
        Ok(())
    }

    pub(crate) fn insert(&mut self, id: u64, object: T) -> Result<(), ExecError> {
        self.check_new(id)?;
        self.objects.insert(id, object);
        Ok(())
    }

    pub(crate) fn get(&self, id: u64) -> Result<&T, ExecError> {
        self.objects.get(&id).ok_or(ExecError::UnknownId {
            kind: self.kind,
            id,
        })
    }

    pub(crate) fn get_mut(&mut self, id: u64) -> Result<&mut T, ExecError> {
        self.objects.get_mut(&id).ok_or(ExecError::UnknownId {
            kind: self.kind,
            id,
        })
    }

    pub(crate) fn remove(&mut self, id: u64) -> Result<T, ExecError> {
        self.objects.remove(&id).ok_or(ExecError::UnknownId {
            kind: self.kind,
            id,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_live_ids_are_refused_and_freed_ids_reusable() {
        let mut t = ObjectTable::new("buffer");
        assert!(matches!(t.insert(0, 1), Err(ExecError::ZeroId("buffer"))));
        t.insert(7, 1).unwrap();
        assert!(matches!(
            t.insert(7, 2),
            Err(ExecError::DuplicateId { id: 7, .. })
        ));
        assert_eq!(*t.get(7).unwrap(), 1);
        assert!(matches!(t.get(8), Err(ExecError::UnknownId { id: 8, .. })));
        t.remove(7).unwrap();
        assert!(t.remove(7).is_err());
        t.insert(7, 3).unwrap();
        assert_eq!(t.len(), 1);
    }
}
