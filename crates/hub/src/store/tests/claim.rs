//! The delivery claim on PostgreSQL: two stores (two hub nodes) on one database asking
//! for one client's jobs at once get disjoint sets.

use super::*;

fn ids(jobs: Vec<(String, Value)>) -> Vec<String> {
    jobs.into_iter().map(|(id, _)| id).collect()
}

#[test]
fn two_nodes_claiming_at_once_never_get_the_same_job() -> Result<(), StoreError> {
    let Some(test) = TestDb::postgres("claim") else {
        return Ok(());
    };
    let mut a = open(&test)?;
    let mut b = open(&test)?;
    let jobs: Vec<NewJob> = (0..10)
        .map(|i| new_job(&format!("job-{i}"), "pc-1"))
        .collect();
    insert_jobs(&mut a, &jobs, 1)?;
    let mut by_b = Vec::new();
    let by_a = a.claim(
        "pc-1",
        "sid-a",
        2,
        4,
        |jobs| {
            // While `a` holds its claim open, `b` asks for the same client's jobs.
            by_b = b
                .claim("pc-1", "sid-b", 2, 100, ids, |_| Vec::new())
                .expect("b claims");
            ids(jobs)
        },
        // A NOTIFY goes out in the claim's transaction.
        |changes| vec![format!(r#"{{"claimed":{}}}"#, changes.len())],
    )?;
    let names = |changes: &[StateChange]| -> Vec<String> {
        changes.iter().map(|c| c.job_id.clone()).collect()
    };
    let (by_a, by_b) = (names(&by_a), names(&by_b));
    assert_eq!(by_a, ["job-0", "job-1", "job-2", "job-3"]);
    assert_eq!(by_b.len(), 6, "{by_b:?}");
    assert!(
        by_b.iter().all(|id| !by_a.contains(id)),
        "{by_a:?} {by_b:?}"
    );
    // Claimed, each is no longer deliverable to the socket that has it.
    assert!(a
        .claim("pc-1", "sid-a", 3, 100, ids, |_| Vec::new())?
        .is_empty());
    Ok(())
}
