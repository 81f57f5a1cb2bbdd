# Runtime image of intercom-etl: compiled JavaScript and production dependencies only — no
# TypeScript, no tsx loader, no test tools (they are devDependencies, left in the build stage).
# test/production-install.test.ts runs this image's entry command from the same kind of install.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# typescript comes along as an optional peer of bull-board's valibot (npm installs those even with
# --omit=dev); nothing needs it at run time.
RUN npm ci --omit=dev --no-audit --no-fund && rm -rf node_modules/typescript && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
USER node
# The worker's HTTP surface (ETL_HTTP_PORT): /healthz, /readyz, /metrics, /queues, /.
EXPOSE 9464
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["worker"]
