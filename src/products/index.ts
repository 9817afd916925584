export {
  ProductService,
  regimes,
  ownershipStages,
  type Product,
  type ProductInput,
  type Ownership,
  type Regime,
  type OwnershipStage,
} from './service.ts';
export { productRoutes } from './routes.ts';
export { productCommands } from './commands.ts';
