//! A layered (Sugiyama-style) layout of a directed graph with clusters, top-down, for the
//! pictures of [`crate::dot`], in-process: no Graphviz.
//!
//! The clusters are flat (a zone, an endpoint: no cluster holds another), so each one is
//! laid out first on its own (its nodes in layers by their edges inside it) and becomes one
//! box; then the boxes and the nodes outside any cluster are laid out as one layered graph:
//! ranked by longest path (cycles broken where a depth-first search meets them), edges
//! longer than one rank routed through dummy points, the order in each rank chosen by
//! barycenter sweeps (the order with the fewest crossings kept), and x positions pulled
//! towards the neighbours' while keeping every item of a rank apart. So every node lies in
//! its cluster's box, no two nodes overlap and no two boxes overlap (tested below).
//!
//! Pure and deterministic: the same graph always has the same layout.

/// Space between items of a rank, and between nodes of a cluster.
const NODE_SEP: f64 = 18.0;
/// Space between ranks.
const RANK_SEP: f64 = 32.0;
/// Space inside a cluster's box around its nodes.
const PAD: f64 = 10.0;
/// The width a dummy point of a long edge takes in its rank.
const DUMMY: f64 = 8.0;
/// Barycenter sweeps (each down then up).
const SWEEPS: usize = 6;
/// Rounds of pulling x positions towards the neighbours'.
const ROUNDS: usize = 8;

/// What is laid out: node sizes and clusters, and the edges (by node index).
pub struct Input {
    /// Each node's (width, height, cluster index).
    pub nodes: Vec<(f64, f64, Option<usize>)>,
    /// Each cluster's label (width, height), drawn at its top left.
    pub clusters: Vec<(f64, f64)>,
    /// Edges: (from, to), node indices.
    pub edges: Vec<(usize, usize)>,
}

/// A rectangle: its top left corner, width and height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    /// Whether `other` lies inside this one.
    pub fn contains(&self, other: &Rect) -> bool {
        other.x >= self.x - 1e-6
            && other.y >= self.y - 1e-6
            && other.x + other.w <= self.x + self.w + 1e-6
            && other.y + other.h <= self.y + self.h + 1e-6
    }

    /// Whether the two overlap (touching is not overlapping).
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.x + other.w - 1e-6
            && other.x < self.x + self.w - 1e-6
            && self.y < other.y + other.h - 1e-6
            && other.y < self.y + self.h - 1e-6
    }

    /// The centre.
    pub fn centre(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }
}

/// Where everything went.
#[derive(Debug)]
pub struct Layout {
    /// Each node's box.
    pub nodes: Vec<Rect>,
    /// Each cluster's box.
    pub clusters: Vec<Rect>,
    /// Each edge's points between the two nodes' centres (the dummy points of a long
    /// edge), in the edge's direction; empty for an edge inside one rank of a cluster.
    pub via: Vec<Vec<(f64, f64)>>,
    /// The width of the whole.
    pub width: f64,
    /// The height of the whole.
    pub height: f64,
}

/// Ranks (layers) of `n` items joined by `edges`: the longest path from a source, cycles
/// broken at the edges a depth-first search finds going back; then an item without
/// predecessors moves down next to its highest successor, so it does not float at the top.
fn ranks(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        if a != b && !out[a].contains(&b) {
            out[a].push(b);
        }
    }
    // Depth-first, iteratively: the edges to an item on the stack go back (a cycle).
    let mut state = vec![0u8; n]; // 0 new, 1 on the stack, 2 done
    let mut forward: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut order = Vec::with_capacity(n); // finishing order
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        let mut stack = vec![(root, 0usize)];
        state[root] = 1;
        while let Some(&mut (v, ref mut i)) = stack.last_mut() {
            if let Some(&w) = out[v].get(*i) {
                *i += 1;
                match state[w] {
                    0 => {
                        forward[v].push(w);
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    2 => forward[v].push(w),
                    _ => {} // back edge: left out of the ranking
                }
            } else {
                state[v] = 2;
                order.push(v);
                stack.pop();
            }
        }
    }
    // Reverse finishing order is a topological order of the forward edges.
    let mut rank = vec![0usize; n];
    for &v in order.iter().rev() {
        for &w in &forward[v] {
            rank[w] = rank[w].max(rank[v] + 1);
        }
    }
    let mut has_pred = vec![false; n];
    for w in forward.iter().flatten() {
        has_pred[*w] = true;
    }
    for &v in &order {
        if !has_pred[v]
            && let Some(m) = forward[v].iter().map(|&w| rank[w]).min()
        {
            rank[v] = m.saturating_sub(1).max(rank[v]);
        }
    }
    rank
}

/// The number of crossings of the links between each pair of adjacent layers (`groups`:
/// one list of links per pair; links of different pairs cannot cross), items at positions
/// `pos` in their layers.
fn crossings(groups: &[Vec<(usize, usize)>], pos: &[usize]) -> usize {
    let mut count = 0;
    for links in groups {
        for (i, &(a, b)) in links.iter().enumerate() {
            for &(c, d) in &links[i + 1..] {
                let (pa, pb, pc, pd) = (pos[a], pos[b], pos[c], pos[d]);
                if (pa < pc && pb > pd) || (pa > pc && pb < pd) {
                    count += 1;
                }
            }
        }
    }
    count
}

/// Orders the items of each layer by barycenter sweeps; `links` join items of adjacent
/// layers (upper first). Returns each layer's items in order, the fewest crossings kept.
fn order(layers: &[Vec<usize>], links: &[(usize, usize)], n: usize) -> Vec<Vec<usize>> {
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in links {
        down[a].push(b);
        up[b].push(a);
    }
    let mut layer_of = vec![0usize; n];
    for (li, l) in layers.iter().enumerate() {
        for &v in l {
            layer_of[v] = li;
        }
    }
    let mut groups: Vec<Vec<(usize, usize)>> = vec![Vec::new(); layers.len()];
    for &(a, b) in links {
        groups[layer_of[a]].push((a, b));
    }
    let mut pos = vec![0usize; n];
    let mut current: Vec<Vec<usize>> = layers.to_vec();
    let place = |cur: &[Vec<usize>], pos: &mut [usize]| {
        for l in cur {
            for (i, &v) in l.iter().enumerate() {
                pos[v] = i;
            }
        }
    };
    place(&current, &mut pos);
    let mut best = current.clone();
    let mut best_count = crossings(&groups, &pos);
    for _ in 0..SWEEPS {
        if best_count == 0 {
            break;
        }
        for downwards in [true, false] {
            let indices: Vec<usize> = if downwards {
                (1..current.len()).collect()
            } else {
                (0..current.len().saturating_sub(1)).rev().collect()
            };
            for li in indices {
                let fixed = if downwards { &up } else { &down };
                let mut keyed: Vec<(f64, usize, usize)> = current[li]
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let ns = &fixed[v];
                        let key = if ns.is_empty() {
                            i as f64
                        } else {
                            ns.iter().map(|&w| pos[w] as f64).sum::<f64>() / ns.len() as f64
                        };
                        (key, i, v)
                    })
                    .collect();
                keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                current[li] = keyed.into_iter().map(|k| k.2).collect();
                for (i, &v) in current[li].iter().enumerate() {
                    pos[v] = i;
                }
            }
            let count = crossings(&groups, &pos);
            if count < best_count {
                best_count = count;
                best = current.clone();
            }
        }
    }
    best
}

/// x positions (centres) of ordered layers of items of widths `w`, pulled towards their
/// neighbours' (`links`, both ways) while items of a layer stay `NODE_SEP` apart; the
/// leftmost edge at 0.
fn positions(layers: &[Vec<usize>], links: &[(usize, usize)], w: &[f64]) -> Vec<f64> {
    let n = w.len();
    let mut near: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in links {
        near[a].push(b);
        near[b].push(a);
    }
    let mut x = vec![0.0; n];
    let widest = layers
        .iter()
        .map(|l| l.iter().map(|&v| w[v] + NODE_SEP).sum::<f64>())
        .fold(0.0, f64::max);
    for l in layers {
        let total: f64 = l.iter().map(|&v| w[v] + NODE_SEP).sum();
        let mut at = (widest - total) / 2.0;
        for &v in l {
            x[v] = at + w[v] / 2.0;
            at += w[v] + NODE_SEP;
        }
    }
    let gap = |a: usize, b: usize| (w[a] + w[b]) / 2.0 + NODE_SEP;
    for round in 0..ROUNDS {
        let indices: Vec<usize> = if round % 2 == 0 {
            (0..layers.len()).collect()
        } else {
            (0..layers.len()).rev().collect()
        };
        for li in indices {
            let l = &layers[li];
            if l.is_empty() {
                continue;
            }
            let want: Vec<f64> = l
                .iter()
                .map(|&v| {
                    if near[v].is_empty() {
                        x[v]
                    } else {
                        near[v].iter().map(|&u| x[u]).sum::<f64>() / near[v].len() as f64
                    }
                })
                .collect();
            // The feasible placement closest from the left and from the right; their
            // mean is feasible too (the constraints are convex).
            let mut left = want.clone();
            for i in 1..l.len() {
                left[i] = left[i].max(left[i - 1] + gap(l[i - 1], l[i]));
            }
            let mut right = want;
            for i in (0..l.len() - 1).rev() {
                right[i] = right[i].min(right[i + 1] - gap(l[i], l[i + 1]));
            }
            for (i, &v) in l.iter().enumerate() {
                x[v] = (left[i] + right[i]) / 2.0;
            }
        }
    }
    let min = (0..n)
        .map(|v| x[v] - w[v] / 2.0)
        .fold(f64::INFINITY, f64::min);
    if min.is_finite() {
        for v in x.iter_mut() {
            *v -= min;
        }
    }
    x
}

/// The layers of `rank`, items in index order.
fn layers_of(rank: &[usize]) -> Vec<Vec<usize>> {
    let depth = rank.iter().copied().max().map_or(0, |m| m + 1);
    let mut layers = vec![Vec::new(); depth];
    for (v, &r) in rank.iter().enumerate() {
        layers[r].push(v);
    }
    layers
}

/// One cluster laid out on its own: its members' boxes relative to the cluster's top
/// left, and the cluster's size.
#[allow(clippy::type_complexity)]
fn cluster_inside(
    input: &Input,
    c: usize,
    members: &[usize],
) -> (Vec<Rect>, f64, f64, Vec<Vec<usize>>) {
    let local = |v: usize| members.iter().position(|&m| m == v);
    let edges: Vec<(usize, usize)> = input
        .edges
        .iter()
        .filter_map(|&(a, b)| Some((local(a)?, local(b)?)))
        .filter(|(a, b)| a != b)
        .collect();
    let rank = ranks(members.len(), &edges);
    let links: Vec<(usize, usize)> = edges
        .iter()
        .map(|&(a, b)| if rank[a] < rank[b] { (a, b) } else { (b, a) })
        .filter(|&(a, b)| rank[b] == rank[a] + 1)
        .collect();
    let layers = order(&layers_of(&rank), &links, members.len());
    let w: Vec<f64> = members.iter().map(|&v| input.nodes[v].0).collect();
    let x = positions(&layers, &links, &w);
    let (label_w, label_h) = input.clusters[c];
    let mut y = PAD + label_h;
    let mut boxes = vec![
        Rect {
            x: 0.0,
            y: 0.0,
            w: 0.0,
            h: 0.0
        };
        members.len()
    ];
    for l in &layers {
        let h = l
            .iter()
            .map(|&v| input.nodes[members[v]].1)
            .fold(0.0, f64::max);
        for &v in l {
            let (nw, nh, _) = input.nodes[members[v]];
            boxes[v] = Rect {
                x: PAD + x[v] - nw / 2.0,
                y: y + (h - nh) / 2.0,
                w: nw,
                h: nh,
            };
        }
        y += h + RANK_SEP * 0.6;
    }
    let inner = boxes.iter().map(|b| b.x + b.w).fold(0.0, f64::max) + PAD;
    let width = inner.max(label_w + 2.0 * PAD);
    // Centre the nodes under a label wider than they are.
    let shift = (width - inner) / 2.0;
    for b in &mut boxes {
        b.x += shift;
    }
    let height = if layers.is_empty() {
        label_h + 2.0 * PAD
    } else {
        y - RANK_SEP * 0.6 + PAD
    };
    (boxes, width, height, layers)
}

/// Where a curve from `at` to `to` crosses `layer` (nodes in order, their centres at one
/// height): `None` when the straight line passes clear of its nodes, else the middle of
/// the nearest gap between two of them (or beside the first or the last).
fn between(layer: &[usize], nodes: &[Rect], at: (f64, f64), to: (f64, f64)) -> Option<(f64, f64)> {
    let y = nodes[*layer.first()?].centre().1;
    let x = if (to.1 - at.1).abs() < 1e-9 {
        to.0
    } else {
        at.0 + (to.0 - at.0) * (y - at.1) / (to.1 - at.1)
    };
    let clear = 4.0;
    if !layer
        .iter()
        .any(|&v| x > nodes[v].x - clear && x < nodes[v].x + nodes[v].w + clear)
    {
        return None;
    }
    let first = &nodes[layer[0]];
    let last = &nodes[layer[layer.len() - 1]];
    let mut gaps = vec![first.x - PAD / 2.0, last.x + last.w + PAD / 2.0];
    for pair in layer.windows(2) {
        let (l, r) = (&nodes[pair[0]], &nodes[pair[1]]);
        gaps.push((l.x + l.w + r.x) / 2.0);
    }
    let best = gaps
        .into_iter()
        .min_by(|p, q| (p - x).abs().total_cmp(&(q - x).abs()))?;
    Some((best, y))
}

/// Lays `input` out.
pub fn layout(input: &Input) -> Layout {
    let n = input.nodes.len();
    // Units: each cluster, then each node outside any.
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); input.clusters.len()];
    let mut unit = vec![0usize; n];
    let mut loose = Vec::new();
    for (v, node) in input.nodes.iter().enumerate() {
        match node.2.filter(|&c| c < input.clusters.len()) {
            Some(c) => {
                unit[v] = c;
                members[c].push(v);
            }
            None => loose.push(v),
        }
    }
    let nc = input.clusters.len();
    for (i, &v) in loose.iter().enumerate() {
        unit[v] = nc + i;
    }
    let units = nc + loose.len();
    let mut size = vec![(0.0, 0.0); units];
    let mut inside: Vec<Vec<Rect>> = Vec::with_capacity(nc);
    // Each cluster's layers (node indices, in order), and each clustered node's layer.
    let mut rows: Vec<Vec<Vec<usize>>> = Vec::with_capacity(nc);
    let mut row_of: Vec<Option<(usize, usize)>> = vec![None; n];
    for (c, m) in members.iter().enumerate() {
        let (boxes, w, h, layers) = cluster_inside(input, c, m);
        size[c] = (w, h);
        inside.push(boxes);
        for (li, l) in layers.iter().enumerate() {
            for &v in l {
                row_of[m[v]] = Some((c, li));
            }
        }
        rows.push(
            layers
                .into_iter()
                .map(|l| l.into_iter().map(|v| m[v]).collect())
                .collect(),
        );
    }
    for (i, &v) in loose.iter().enumerate() {
        size[nc + i] = (input.nodes[v].0, input.nodes[v].1);
    }
    let unit_edges: Vec<(usize, usize)> = input
        .edges
        .iter()
        .filter(|&&(a, b)| a < n && b < n)
        .map(|&(a, b)| (unit[a], unit[b]))
        .filter(|(a, b)| a != b)
        .collect();
    let rank = ranks(units, &unit_edges);
    // Items: the units, then one dummy per rank crossed by a long edge (one chain per
    // pair of units, shared by their edges).
    let mut item_rank = rank.clone();
    let mut widths: Vec<f64> = size.iter().map(|s| s.0).collect();
    let mut links: Vec<(usize, usize)> = Vec::new();
    let mut chains: std::collections::BTreeMap<(usize, usize), Vec<usize>> =
        std::collections::BTreeMap::new();
    for &(a, b) in &unit_edges {
        let (top, bottom) = if rank[a] <= rank[b] { (a, b) } else { (b, a) };
        if rank[top] == rank[bottom] || chains.contains_key(&(top, bottom)) {
            continue;
        }
        let mut prev = top;
        let mut chain = Vec::new();
        for r in rank[top] + 1..rank[bottom] {
            let d = item_rank.len();
            item_rank.push(r);
            widths.push(DUMMY);
            links.push((prev, d));
            chain.push(d);
            prev = d;
        }
        links.push((prev, bottom));
        chains.insert((top, bottom), chain);
    }
    let items = item_rank.len();
    let layers = order(&layers_of(&item_rank), &links, items);
    let x = positions(&layers, &links, &widths);
    // y: each rank as tall as its tallest unit, units centred in it.
    let mut top_of = vec![0.0; layers.len()];
    let mut height_of = vec![0.0; layers.len()];
    let mut y = 0.0;
    for (r, l) in layers.iter().enumerate() {
        let h = l
            .iter()
            .filter(|&&v| v < units)
            .map(|&v| size[v].1)
            .fold(0.0, f64::max);
        top_of[r] = y;
        height_of[r] = h;
        y += h + RANK_SEP;
    }
    let total_h = (y - RANK_SEP).max(0.0);
    let unit_box = |u: usize| {
        let r = item_rank[u];
        let (w, h) = size[u];
        Rect {
            x: x[u] - w / 2.0,
            y: top_of[r] + (height_of[r] - h) / 2.0,
            w,
            h,
        }
    };
    let clusters: Vec<Rect> = (0..nc).map(unit_box).collect();
    let mut nodes = vec![
        Rect {
            x: 0.0,
            y: 0.0,
            w: 0.0,
            h: 0.0
        };
        n
    ];
    for (c, m) in members.iter().enumerate() {
        for (i, &v) in m.iter().enumerate() {
            let b = inside[c][i];
            nodes[v] = Rect {
                x: clusters[c].x + b.x,
                y: clusters[c].y + b.y,
                ..b
            };
        }
    }
    for (i, &v) in loose.iter().enumerate() {
        nodes[v] = unit_box(nc + i);
    }
    let via = input
        .edges
        .iter()
        .map(|&(a, b)| {
            if a >= n || b >= n {
                return Vec::new();
            }
            let (ua, ub) = (unit[a], unit[b]);
            let mid: Vec<(f64, f64)> = match chains.get(&(ua, ub)) {
                Some(c) => c.clone(),
                None => chains
                    .get(&(ub, ua))
                    .map(|c| c.iter().rev().copied().collect())
                    .unwrap_or_default(),
            }
            .into_iter()
            .map(|d| (x[d], top_of[item_rank[d]] + height_of[item_rank[d]] / 2.0))
            .collect();
            let (from, to) = (nodes[a].centre(), nodes[b].centre());
            let down = to.1 >= from.1;
            // The layers of a cluster an edge crosses on its way out of `a`, between `a`
            // and `b` in one cluster, or on its way in to `b`, in the order it meets them.
            let crossed = |v: usize, other: Option<usize>, leaving: bool| -> Vec<&Vec<usize>> {
                let Some((c, l)) = row_of[v] else {
                    return Vec::new();
                };
                let layers = &rows[c];
                let range: Vec<usize> = match other.and_then(|o| row_of[o]) {
                    Some((oc, ol)) if oc == c => {
                        if !leaving {
                            return Vec::new();
                        }
                        if l < ol {
                            (l + 1..ol).collect()
                        } else {
                            (ol + 1..l).rev().collect()
                        }
                    }
                    _ => match (leaving, down) {
                        (true, true) => (l + 1..layers.len()).collect(),
                        (true, false) => (0..l).rev().collect(),
                        (false, true) => (0..l).collect(),
                        (false, false) => (l + 1..layers.len()).rev().collect(),
                    },
                };
                range.into_iter().map(|i| &layers[i]).collect()
            };
            let mut points = Vec::new();
            let mut at = from;
            let towards = mid.first().copied().unwrap_or(to);
            for layer in crossed(a, Some(b), true) {
                if let Some(p) = between(layer, &nodes, at, towards) {
                    points.push(p);
                    at = p;
                }
            }
            points.extend(mid.iter().copied());
            at = points.last().copied().unwrap_or(at);
            for layer in crossed(b, Some(a), false) {
                if let Some(p) = between(layer, &nodes, at, to) {
                    points.push(p);
                    at = p;
                }
            }
            points
        })
        .collect();
    let width = (0..items)
        .map(|v| x[v] + widths[v] / 2.0)
        .fold(0.0, f64::max);
    Layout {
        nodes,
        clusters,
        via,
        width,
        height: total_h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &Input) -> Layout {
        let l = layout(input);
        for (v, node) in input.nodes.iter().enumerate() {
            let b = l.nodes[v];
            assert!((b.w - node.0).abs() < 1e-9 && (b.h - node.1).abs() < 1e-9);
            assert!(b.x >= -1e-6 && b.y >= -1e-6, "{v}: {b:?}");
            assert!(b.x + b.w <= l.width + 1e-6 && b.y + b.h <= l.height + 1e-6);
            if let Some(c) = node.2 {
                assert!(l.clusters[c].contains(&b), "{v} outside cluster {c}");
            }
            for (u, other) in l.nodes.iter().enumerate().skip(v + 1) {
                assert!(!b.overlaps(other), "nodes {v} and {u} overlap");
            }
            for (c, r) in l.clusters.iter().enumerate() {
                if node.2 != Some(c) {
                    assert!(!r.overlaps(&b), "node {v} in cluster {c}");
                }
            }
        }
        for (i, a) in l.clusters.iter().enumerate() {
            for (j, b) in l.clusters.iter().enumerate().skip(i + 1) {
                assert!(!a.overlaps(b), "clusters {i} and {j} overlap");
            }
        }
        l
    }

    /// Three zones chained by DS edges stack from the root down; the loose host, address
    /// and endpoint below them; a long edge goes through a dummy point between.
    #[test]
    fn zones_stack_top_down_and_nothing_overlaps() {
        let input = Input {
            // 0,1 root keys; 2 DS of test.; 3,4 test. keys; 5 RRset; 6 host; 7 address;
            // 8 cert in an endpoint box.
            nodes: vec![
                (80.0, 30.0, Some(0)),
                (80.0, 30.0, Some(0)),
                (70.0, 40.0, Some(0)),
                (80.0, 30.0, Some(1)),
                (80.0, 30.0, Some(1)),
                (120.0, 30.0, Some(1)),
                (100.0, 50.0, None),
                (60.0, 20.0, None),
                (200.0, 40.0, Some(2)),
            ],
            clusters: vec![(10.0, 14.0), (40.0, 14.0), (300.0, 14.0)],
            edges: vec![
                (0, 1),
                (1, 2),
                (2, 3),
                (3, 4),
                (4, 5),
                (6, 5),
                (6, 7),
                (7, 8),
                (0, 8),
            ],
        };
        let l = check(&input);
        let (c0, c1, c2) = (l.clusters[0], l.clusters[1], l.clusters[2]);
        assert!(c0.y + c0.h <= c1.y, "root above test.: {c0:?} {c1:?}");
        assert!(c1.y + c1.h <= c2.y);
        // A label wider than the nodes widens the box.
        assert!(c2.w >= 300.0 + 2.0 * PAD);
        // The edge from the root to the endpoint crosses ranks: dummy points between.
        let long = &l.via[8];
        // ... beside the boxes of the ranks between.
        let beside = |&(x, y): &(f64, f64)| {
            y > c0.y + c0.h
                && l.clusters
                    .iter()
                    .all(|c| !(x > c.x && x < c.x + c.w && y > c.y && y < c.y + c.h))
        };
        assert!(long.iter().any(beside), "{long:?}");
        for &(_, y) in long {
            assert!(y > c0.y && y < c2.y, "{long:?}");
        }
        assert!(l.via[0].is_empty());
    }

    /// An edge into a node below others of its cluster passes between them, not through.
    #[test]
    fn edges_pass_between_the_nodes_of_a_cluster() {
        let input = Input {
            // 0 a key above three RRsets (1, 2, 3) in one zone; 4 a host above the zone
            // with an edge to the middle RRset, and one from the key out to 5 below.
            nodes: vec![
                (80.0, 30.0, Some(0)),
                (90.0, 30.0, Some(0)),
                (90.0, 30.0, Some(0)),
                (90.0, 30.0, Some(0)),
                (80.0, 30.0, None),
                (80.0, 30.0, None),
            ],
            clusters: vec![(30.0, 14.0)],
            edges: vec![(0, 1), (0, 2), (0, 3), (4, 2), (0, 5), (2, 5)],
        };
        let l = check(&input);
        let into = &l.via[3];
        assert!(!into.is_empty(), "the key is in the way: {l:?}");
        let out = &l.via[4];
        assert!(!out.is_empty(), "the RRsets are in the way: {l:?}");
        for &(x, y) in into.iter().chain(out) {
            for (v, r) in l.nodes.iter().enumerate() {
                let inside = x > r.x && x < r.x + r.w && y > r.y && y < r.y + r.h;
                assert!(!inside, "({x}, {y}) in node {v}: {l:?}");
            }
        }
    }

    /// Only links between the same two layers can cross; the sweeps untangle a crossing.
    #[test]
    fn crossings_are_counted_per_pair_of_layers_and_removed() {
        let pos = [0, 1, 1, 0, 0, 1];
        assert_eq!(crossings(&[vec![(0, 2), (1, 3)]], &pos), 1);
        assert_eq!(crossings(&[vec![(0, 2)], vec![(1, 3)]], &pos), 0);
        // 0 and 1 above 2 and 3, linked crosswise: ordered so that nothing crosses.
        let layers = order(&[vec![0, 1], vec![2, 3]], &[(0, 3), (1, 2)], 4);
        let at = |l: usize, v: usize| layers[l].iter().position(|&x| x == v);
        assert_eq!(at(0, 0), at(1, 3), "{layers:?}");
        assert_eq!(at(0, 1), at(1, 2), "{layers:?}");
    }

    /// Cycles (a CNAME loop, a key signing its own set) and self edges lay out too.
    #[test]
    fn cycles_and_self_edges() {
        let input = Input {
            nodes: vec![(40.0, 20.0, None); 4],
            clusters: vec![],
            edges: vec![(0, 1), (1, 2), (2, 0), (3, 3), (2, 3)],
        };
        let l = check(&input);
        assert!(l.width > 0.0 && l.height > 0.0);
        let empty = layout(&Input {
            nodes: vec![],
            clusters: vec![(50.0, 14.0)],
            edges: vec![(0, 1)],
        });
        assert_eq!(empty.clusters.len(), 1);
        assert!(empty.clusters[0].w >= 50.0);
    }

    /// 4 hosts x 2 addresses x 2 certificate boxes, each host's records to each box.
    #[test]
    fn four_hosts_two_addresses_two_certificates() {
        let mut nodes = Vec::new();
        let mut clusters = Vec::new();
        let mut edges = Vec::new();
        let mx = 0;
        nodes.push((120.0, 30.0, None));
        for _ in 0..4 {
            let host = nodes.len();
            nodes.push((130.0, 50.0, None));
            edges.push((mx, host));
            let record = nodes.len();
            nodes.push((110.0, 30.0, None));
            edges.push((host, record));
            for _ in 0..2 {
                let addr = nodes.len();
                nodes.push((90.0, 20.0, None));
                edges.push((host, addr));
                for _ in 0..2 {
                    let c = clusters.len();
                    clusters.push((120.0, 14.0));
                    let leaf = nodes.len();
                    nodes.push((200.0, 44.0, Some(c)));
                    nodes.push((200.0, 44.0, Some(c)));
                    edges.push((leaf, leaf + 1));
                    edges.push((addr, leaf));
                    edges.push((record, leaf));
                }
            }
        }
        let l = check(&Input {
            nodes,
            clusters,
            edges,
        });
        assert!(l.width < 16.0 * 260.0, "{}", l.width);
    }
}
