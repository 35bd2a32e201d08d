//! Where each node of the diagram goes: layers left to right in the direction requests
//! flow (clients first, the data they end at last), ordered within a layer to keep edges
//! from crossing (the barycentre heuristic of Sugiyama-style layouts).
//!
//! Call graphs are acyclic (the model checker refuses cycles), so longest-path layering
//! always ends; an edge that would close a cycle anyway is ignored rather than looped on.
//!
//! Pure arithmetic on indices: the app's live diagram and the HTML review both place their
//! nodes with it, so the two pictures of one model agree.

use std::collections::BTreeMap;

/// Horizontal distance between layers and vertical distance between nodes, in diagram
/// units (points at zoom 1).
pub const LAYER_GAP: f32 = 230.0;
pub const ROW_GAP: f32 = 120.0;

/// A position per node, by index, for nodes `0..n` and edges `(from, to)`.
#[must_use]
pub fn layered(n: usize, edges: &[(usize, usize)]) -> Vec<[f32; 2]> {
    let layer = layers(n, edges);
    let depth = layer.iter().copied().max().map_or(0, |d| d + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (node, &l) in layer.iter().enumerate() {
        rows[l].push(node);
    }
    order_rows(&mut rows, edges);
    let tallest = rows.iter().map(Vec::len).max().unwrap_or(1);
    let mut position = vec![[0.0, 0.0]; n];
    for (l, row) in rows.iter().enumerate() {
        // Centre each layer on the tallest one.
        let offset = (tallest - row.len()) as f32 * ROW_GAP / 2.0;
        for (i, &node) in row.iter().enumerate() {
            position[node] = [l as f32 * LAYER_GAP, offset + i as f32 * ROW_GAP];
        }
    }
    position
}

/// Longest path from a source: a node sits one layer right of its furthest caller.
fn layers(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut indegree = vec![0usize; n];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        if a < n && b < n && a != b {
            out[a].push(b);
            indegree[b] += 1;
        }
    }
    let mut layer = vec![0usize; n];
    let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut placed = 0;
    // Kahn's order; nodes left over (on a cycle) keep the layer reached so far.
    while let Some(a) = ready.pop() {
        placed += 1;
        for &b in &out[a] {
            layer[b] = layer[b].max(layer[a] + 1);
            indegree[b] -= 1;
            if indegree[b] == 0 {
                ready.push(b);
            }
        }
    }
    debug_assert!(placed <= n);
    layer
}

/// A few sweeps of the barycentre heuristic: each node moves to the mean row of its
/// neighbours in the layer before (then after), which untangles most crossings.
fn order_rows(rows: &mut [Vec<usize>], edges: &[(usize, usize)]) {
    let mut callers: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut callees: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &(a, b) in edges {
        callers.entry(b).or_default().push(a);
        callees.entry(a).or_default().push(b);
    }
    let mut row_of = BTreeMap::new();
    let index = |rows: &[Vec<usize>], row_of: &mut BTreeMap<usize, f32>| {
        for row in rows {
            for (i, &node) in row.iter().enumerate() {
                row_of.insert(node, i as f32);
            }
        }
    };
    index(rows, &mut row_of);
    for sweep in 0..4 {
        let neighbours = if sweep % 2 == 0 { &callers } else { &callees };
        let layer_order: Vec<usize> = if sweep % 2 == 0 {
            (1..rows.len()).collect()
        } else {
            (0..rows.len().saturating_sub(1)).rev().collect()
        };
        for l in layer_order {
            let mut keyed: Vec<(f32, usize)> = rows[l]
                .iter()
                .map(|&node| {
                    let own = row_of.get(&node).copied().unwrap_or(0.0);
                    let key = neighbours.get(&node).map_or(own, |ns| {
                        let sum: f32 = ns.iter().filter_map(|m| row_of.get(m)).sum();
                        if ns.is_empty() {
                            own
                        } else {
                            sum / ns.len() as f32
                        }
                    });
                    (key, node)
                })
                .collect();
            // Stable on ties (the node index), so the layout never depends on chance.
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            rows[l] = keyed.into_iter().map(|(_, node)| node).collect();
            index(rows, &mut row_of);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_sit_left_of_callees_and_layers_are_longest_paths() {
        // client → lb → app → db, and client → app directly.
        let p = layered(4, &[(0, 1), (1, 2), (2, 3), (0, 2)]);
        assert!(p[0][0] < p[1][0] && p[1][0] < p[2][0] && p[2][0] < p[3][0]);
        assert!((p[2][0] - 2.0 * LAYER_GAP).abs() < 1e-3);
    }

    #[test]
    fn a_cycle_does_not_hang_the_layout() {
        let p = layered(3, &[(0, 1), (1, 2), (2, 1)]);
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn barycentre_ordering_removes_a_crossing() {
        // Two clients, each calling its own service; listed crosswise.
        // Layer 1 starts as [2, 3]: 2 is called by 1 and 3 by 0, so they swap.
        let p = layered(4, &[(1, 2), (0, 3)]);
        assert!(p[3][1] < p[2][1], "{p:?}");
    }
}
