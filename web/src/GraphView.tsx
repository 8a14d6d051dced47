// The graph drawing, loaded only when a graph is shown (cytoscape is most of its weight).
import cytoscape, { type Core, type ElementDefinition } from "cytoscape";
import { useEffect, useRef } from "react";
import { relationLabel, traditionColour } from "./format";

export interface GraphNode {
  id: string;
  slug: string;
  name: string;
  tradition?: string | null;
}

export interface GraphEdge {
  id: string;
  type: string;
  sourceId: string;
  targetId: string;
}

/** Cytoscape elements: nodes coloured by tradition, edges labelled by type. */
export function elementsOf(nodes: GraphNode[], edges: GraphEdge[], rootId?: string): ElementDefinition[] {
  const ids = new Set(nodes.map((n) => n.id));
  return [
    ...nodes.map((n) => ({
      data: { id: n.id, slug: n.slug, label: n.name, colour: traditionColour(n.tradition), root: n.id === rootId ? 1 : 0 },
    })),
    ...edges
      .filter((e) => ids.has(e.sourceId) && ids.has(e.targetId))
      .map((e) => ({ data: { id: `e${e.id}`, source: e.sourceId, target: e.targetId, label: relationLabel(e.type) } })),
  ];
}

export default function GraphView({
  nodes,
  edges,
  rootId,
  onOpen,
  label,
}: {
  nodes: GraphNode[];
  edges: GraphEdge[];
  rootId?: string;
  onOpen: (slug: string) => void;
  label: string;
}) {
  const container = useRef<HTMLDivElement>(null);
  const graph = useRef<Core | null>(null);

  useEffect(() => {
    if (!container.current) return;
    const many = nodes.length > 60;
    const cy = cytoscape({
      container: container.current,
      elements: elementsOf(nodes, edges, rootId),
      wheelSensitivity: 0.3,
      minZoom: 0.15,
      maxZoom: 3,
      style: [
        {
          selector: "node",
          style: {
            "background-color": "data(colour)",
            label: "data(label)",
            "font-size": many ? 9 : 11,
            "text-valign": "bottom",
            "text-margin-y": 3,
            "text-wrap": "ellipsis",
            "text-max-width": "110px",
            width: many ? 14 : 20,
            height: many ? 14 : 20,
            color: "#222",
            "text-background-color": "#fff",
            "text-background-opacity": 0.7,
            "min-zoomed-font-size": many ? 7 : 0,
          },
        },
        { selector: "node[root = 1]", style: { width: 30, height: 30, "border-width": 3, "border-color": "#000" } },
        {
          selector: "edge",
          style: {
            width: 1.2,
            opacity: many ? 0.35 : 1,
            "curve-style": many ? "haystack" : "bezier",
            "line-color": "#aaa",
            "target-arrow-color": "#aaa",
            "target-arrow-shape": many ? "none" : "triangle",
            label: many ? "" : "data(label)",
            "font-size": 8,
            color: "#555",
          },
        },
      ],
      layout: { name: "preset" },
    });
    // Many nodes: rings by distance from the root (its neighbours, theirs, …), faint straight
    // edges, and labels that appear as one zooms in; few: a force-directed layout.
    const distance = new Map<string, number>();
    const root = rootId ? cy.getElementById(rootId) : cy.nodes().first();
    cy.elements().bfs({
      roots: root,
      directed: false,
      visit: (node, _edge, _previous, _index, depth) => void distance.set(node.id(), depth),
    });
    const far = Math.max(0, ...distance.values()) + 1;
    (many
      ? cy.layout({
          name: "concentric",
          concentric: (n) => far - (distance.get(n.id()) ?? far),
          levelWidth: () => 1,
          minNodeSpacing: 16,
          animate: false,
        })
      : cy.layout({ name: "cose", animate: false, nodeRepulsion: () => 400000, idealEdgeLength: () => 100, gravity: 0.3, nodeOverlap: 20, padding: 20, randomize: false })
    ).run();
    cy.on("tap", "node", (event) => onOpen(event.target.data("slug")));
    graph.current = cy;
    return () => {
      cy.destroy();
      graph.current = null;
    };
  }, [nodes, edges, rootId, onOpen]);

  return (
    <div
      ref={container}
      className="graph-canvas"
      role="img"
      aria-label={label}
      data-nodes={nodes.length}
      data-testid="graph"
    />
  );
}
