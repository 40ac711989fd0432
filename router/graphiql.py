"""The GraphiQL page served on GET /graphql to a browser (assets from the public CDN)."""

GRAPHIQL_HTML = """<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8" />
  <title>Jiangsu health cloud graph · GraphiQL</title>
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
  <link rel="stylesheet" href="https://unpkg.com/graphiql@3.8.3/graphiql.min.css" />
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script crossorigin src="https://unpkg.com/react@18.3.1/umd/react.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/react-dom@18.3.1/umd/react-dom.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/graphiql@3.8.3/graphiql.min.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
    const defaultQuery = `# The Jiangsu health cloud graph: five subgraphs behind one router.
{
  persons(regionCode: "320505", first: 3) {
    edges { node { uid name birthDate managementRegion { fullName } account { username } } }
  }
}
`;
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: true })
    );
  </script>
</body>
</html>
"""
