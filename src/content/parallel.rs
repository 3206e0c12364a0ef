//! Work over many files or posts spread on the machine's cores: reading a large capsule at
//! start is most of the time to the first answer.

/// Runs `work` on every item, on up to one thread per core when there are at least
/// `per_thread` items for each (else on this thread). Items keep their order.
pub fn each<T: Send>(items: &mut [T], per_thread: usize, work: impl Fn(&mut T) + Sync) {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len() / per_thread.max(1))
        .max(1);
    if threads == 1 {
        items.iter_mut().for_each(work);
        return;
    }
    let size = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for chunk in items.chunks_mut(size) {
            scope.spawn(|| chunk.iter_mut().for_each(&work));
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_item_is_worked_on_once_in_place() {
        for n in [0, 1, 63, 64, 1000] {
            let mut items: Vec<(usize, usize)> = (0..n).map(|i| (i, 0)).collect();
            super::each(&mut items, 8, |(i, out)| *out += *i * 2);
            assert!(
                items
                    .iter()
                    .enumerate()
                    .all(|(k, &(i, out))| k == i && out == i * 2)
            );
        }
    }
}
